"""Applies pending numbered migrations, safely when web and worker start at once."""
from __future__ import annotations

import importlib
import logging
import pkgutil


from core.clock import utcnow
from models import migrations
from models.db import database, is_sqlite

log = logging.getLogger(__name__)


def _available() -> list[tuple[int, str]]:
    found = []
    for info in pkgutil.iter_modules(migrations.__path__):
        if info.name.startswith("m") and info.name[1:5].isdigit():
            found.append((int(info.name[1:5]), info.name))
    return sorted(found)


def migrate() -> list[int]:
    """Apply every migration newer than the recorded version; return the numbers applied."""
    applied = []
    database.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    if is_sqlite():
        ctx = database.atomic("IMMEDIATE")  # DDL is transactional; IMMEDIATE serialises concurrent starters
    else:
        ctx = database.atomic()
    with ctx:
        if not is_sqlite():
            database.execute_sql("SELECT pg_advisory_xact_lock(727274)")
        row = database.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()
        current = row[0] or 0
        for number, name in _available():
            if number <= current:
                continue
            module = importlib.import_module(f"models.migrations.{name}")
            module.up(database.obj)
            database.execute_sql(
                "INSERT INTO schema_version (version, applied_at) VALUES (%s, %s)"
                % (database.obj.param, database.obj.param),
                (number, utcnow().isoformat()),
            )
            applied.append(number)
            log.info("applied migration %s", name)
    return applied



def pending() -> list[int]:
    """The numbers of the migrations not applied yet (all of them on an empty database)."""
    tables = database.get_tables()
    current = 0
    if "schema_version" in tables:
        current = database.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
    return [number for number, _ in _available() if number > current]
