"""Where the integration suite keeps its data: SQLite (default) or PostgreSQL + Redis (scale-out run).

`BA_TEST_BACKEND=scaleout` switches every Stack to a fresh PostgreSQL database and its own Huey
queue name in a Redis db number of its own; both are cleaned before and after the run. Under
pytest-xdist each worker (gw0, gw1, ...) has its own database prefix and Redis db, so one worker's
cleaning never touches another's.
"""
from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from typing import Optional

PG_HOST = os.environ.get("BA_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BA_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("BA_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("BA_TEST_PG_DB", "test")
REDIS_HOST = os.environ.get("BA_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("BA_TEST_REDIS_PORT", "6379"))
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... under pytest-xdist
_WORKER_INDEX = int(_XDIST_WORKER[2:]) if _XDIST_WORKER.startswith("gw") else 0
REDIS_DB = int(os.environ.get("BA_TEST_REDIS_DB", "7")) + _WORKER_INDEX
DB_PREFIX = f"ba_test_{_XDIST_WORKER}_" if _XDIST_WORKER else "ba_test_"


def scaleout_requested() -> bool:
    """True when this run targets PostgreSQL + Redis."""
    return os.environ.get("BA_TEST_BACKEND", "sqlite") == "scaleout"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def missing_services() -> Optional[str]:
    """One line naming the scale-out services that are not reachable, or None."""
    missing = [f"{name} at {host}:{port}" for name, host, port in
               (("PostgreSQL", PG_HOST, PG_PORT), ("Redis", REDIS_HOST, REDIS_PORT)) if not _reachable(host, port)]
    return f"scale-out tests skipped: {', '.join(missing)} not reachable" if missing else None


def _admin():
    import psycopg2

    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=PG_ADMIN_DB)
    conn.autocommit = True
    return conn


def _redis():
    import redis

    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)


def clean_all() -> None:
    """Drop every test database and flush the test Redis db (before and after a run)."""
    conn = _admin()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (DB_PREFIX + "%",))
            for (name,) in cur.fetchall():
                cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
                cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        conn.close()
    _redis().flushdb()


@dataclass
class ScaleoutBackend:
    """A PostgreSQL database and a Huey queue name of one Stack."""

    database: str
    queue_name: str

    @classmethod
    def create(cls) -> "ScaleoutBackend":
        """A fresh database and queue name."""
        suffix = uuid.uuid4().hex[:10]
        backend = cls(DB_PREFIX + suffix, f"stack-{suffix}")
        conn = _admin()
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{backend.database}"')
        finally:
            conn.close()
        return backend

    def env(self) -> dict[str, str]:
        """The environment that points a Stack's processes at this backend."""
        return {
            "DATABASE_URL": f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{self.database}",
            "QUEUE_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
            "QUEUE_NAME": self.queue_name,
        }

    def drop(self) -> None:
        """Remove the database and the queue's keys."""
        conn = _admin()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                            (self.database,))
                cur.execute(f'DROP DATABASE IF EXISTS "{self.database}"')
        finally:
            conn.close()
        r = _redis()
        keys = list(r.scan_iter(match=f"*{self.queue_name}*"))
        if keys:
            r.delete(*keys)
