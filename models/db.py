"""The app database: one proxy, initialised from a URL (SQLite by default, PostgreSQL to scale out)."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from operator import methodcaller
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import peewee
from playhouse.db_url import connect, parse

from core.file_lock import WriterFileLock, writer_lock_for

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10000,
    "synchronous": 1,  # NORMAL: durable across process crashes in WAL mode
    "foreign_keys": 1,
    "cache_size": -16000,
}


def open_database(url: str, *, pool_size: int = 8) -> peewee.Database:
    """Connect `database` to `url` and return the underlying Database."""
    if url.startswith("sqlite"):
        register_sqlite_adapters()
        path = parse(url)["database"]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = connect(url, pragmas=SQLITE_PRAGMAS, timeout=10)
        db.writer_lock = writer_lock_for(path)  # the processes' turns on this file (write_transaction)
    elif url.startswith(("postgres", "postgresql")):
        scheme, rest = url.split("://", 1)
        if "+pool" not in scheme:
            url = f"{scheme}+pool://{rest}"
        db = connect(url, max_connections=pool_size, stale_timeout=300, timeout=10)
    else:
        db = connect(url)
    database.initialize(db)
    return db


def register_sqlite_adapters() -> None:
    """Store datetimes and dates as the sqlite3 module's default adapters do (ISO 8601, a space before the time),
    through C callables: the defaults are Python functions, and a job transition passes a dozen datetimes."""
    sqlite3.register_adapter(dt.datetime, methodcaller("isoformat", " "))
    sqlite3.register_adapter(dt.date, methodcaller("isoformat"))


def is_sqlite() -> bool:
    """True when the app database is SQLite."""
    return isinstance(database.obj, peewee.SqliteDatabase)


def keep_connections() -> bool:
    """Whether a thread keeps its connection between requests and tasks instead of closing it after each.

    True on SQLite: opening a connection re-reads the schema and runs the pragmas, and closing the last one
    checkpoints the WAL and deletes the -wal and -shm files, which the next open creates again (the
    benchmark measured it: 2 ms more per job, a 50 ms p99 on polls). PostgreSQL's pool makes close cheap.
    """
    return is_sqlite()


def change_marker() -> Optional[tuple[int, int]]:
    """On SQLite, a value that changes whenever anyone commits to the database; None elsewhere.

    `PRAGMA data_version` moves when another connection commits; `total_changes` when this one writes.
    Reading both costs a few microseconds and no table access.
    """
    if not is_sqlite():
        return None
    conn = database.connection()
    return conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes


# One writer at a time per process on SQLite: the threads of a process queue on this lock, and the one
# releasing it wakes the next at once, where SQLite's busy handler would sleep 1, 2, 5, 10 ms... between
# tries (py-spy: a quarter of a draining worker's job-thread time waited in BEGIN IMMEDIATE).
_process_writer = threading.RLock()
# Then the processes on one file take turns on its writer lock file (core/file_lock.py, kept on the database
# open_database opened), for the same reason across processes: the web's and the worker's.


@contextmanager
def write_transaction() -> Iterator[None]:
    """A transaction that takes the write lock up front (SQLite refuses read-to-write upgrades under load).

    On SQLite the threads of one process also take turns on a process-wide lock first, then the processes on
    the file's writer lock; a block nested in an open transaction becomes a savepoint and takes nothing (it
    may already hold SQLite's lock).
    """
    if not is_sqlite():
        with database.atomic():
            yield
        return
    if database.in_transaction():
        with database.atomic():
            yield
        return
    file_lock: Optional[WriterFileLock] = getattr(database.obj, "writer_lock", None)
    with _process_writer, file_lock.held() if file_lock else nullcontext(), database.atomic("IMMEDIATE"):
        yield


_PARAM_SQL: dict[tuple[str, str], str] = {}


def execute(sql: str, params: Sequence[Any] = ()) -> Any:
    """Run hand-written SQL (`?` placeholders, no literal `?` or `%`) on the app database; its cursor.

    For the few statements on a hot path: peewee building a statement costs several times what running
    it does. The placeholders become the driver's (`%s` on PostgreSQL) once per statement.
    """
    param = database.obj.param
    if param != "?":
        key = (sql, param)
        translated = _PARAM_SQL.get(key)
        if translated is None:
            translated = _PARAM_SQL[key] = sql.replace("?", param)
        sql = translated
    return database.execute_sql(sql, params)


_PLAIN_FIELDS = (peewee.CharField, peewee.TextField, peewee.IntegerField, peewee.AutoField)


@lru_cache(maxsize=None)
def _select_by_key(model: type) -> tuple[str, tuple]:
    fields = model._meta.sorted_fields
    sql = (f"SELECT {', '.join(f.column_name for f in fields)} FROM {model._meta.table_name} "
           f"WHERE {model._meta.primary_key.column_name} = ?")
    return sql, tuple((f.name, None if type(f) in _PLAIN_FIELDS else f.python_value) for f in fields)


def get_by_key(model: type, key: Any) -> Any:
    """`model.get_or_none(primary key == key)` without peewee building the statement each time (hot paths:
    the budget of every job request and step). The instance is built as peewee's own cursor would."""
    sql, convert = _select_by_key(model)
    row = execute(sql, (key,)).fetchone()
    if row is None:
        return None
    data = {name: python_value(value) if python_value is not None and value is not None else value
            for (name, python_value), value in zip(convert, row)}
    obj = model(__no_default__=1, **data)
    obj._dirty.clear()
    return obj


@lru_cache(maxsize=None)
def _insert_ignoring_sql(model: type, n: int) -> str:
    fields = model._meta.sorted_fields
    row = f"({', '.join(['?'] * len(fields))})"
    return (f"INSERT INTO {model._meta.table_name} ({', '.join(f.column_name for f in fields)}) "
            f"VALUES {', '.join([row] * n)} ON CONFLICT DO NOTHING")


def insert_ignoring(model: type, rows: Sequence[dict]) -> int:
    """`model.insert_many(rows).on_conflict_ignore()` as one hand-written statement: every column given, a
    missing one at its model default, values converted as peewee converts them; the rows inserted."""
    if not rows:
        return 0
    fields = model._meta.sorted_fields
    params: list[Any] = []
    for row in rows:
        for f in fields:
            value = row[f.name] if f.name in row else (f.default() if callable(f.default) else f.default)
            params.append(None if value is None else f.db_value(value))
    return execute(_insert_ignoring_sql(model, len(rows)), params).rowcount


class JSONField(peewee.TextField):
    """JSON stored as text, portable across SQLite and PostgreSQL."""

    def db_value(self, value: Any) -> Any:
        return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)

    def python_value(self, value: Any) -> Any:
        return None if value is None else json.loads(value)


class BaseModel(peewee.Model):
    """Base of every table; bound to the proxy."""

    class Meta:
        database = database
        legacy_table_names = False
