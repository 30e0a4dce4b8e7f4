"""The Huey instance for a QUEUE_URL: SQLite by default, Redis to scale out."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.storage import SqliteStorage


class TunedSqliteStorage(SqliteStorage):
    """Huey's SQLite storage with synchronous=NORMAL (safe in WAL mode across process crashes)."""

    def _create_connection(self):  # noqa: ANN202 - Huey's signature
        conn = super()._create_connection()
        conn.execute("pragma synchronous=1")
        return conn


class TunedSqliteHuey(SqliteHuey):
    """SqliteHuey on the tuned storage."""

    storage_class = TunedSqliteStorage


def make_huey(queue_url: str, name: str = "budget-assist") -> Huey:
    """A Huey for `queue_url` (sqlite:///path or redis://host:port/db); results are not stored."""
    parsed = urlparse(queue_url)
    if parsed.scheme == "sqlite":
        path = queue_url[len("sqlite:///"):] if queue_url.startswith("sqlite:///") else parsed.path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return TunedSqliteHuey(name, filename=path, results=False, journal_mode="wal", timeout=10)
    if parsed.scheme in ("redis", "rediss"):
        return RedisHuey(name, url=queue_url, results=False, blocking=True, read_timeout=1)
    raise ValueError(f"QUEUE_URL must start with sqlite:/// or redis://, got {parsed.scheme!r}")
