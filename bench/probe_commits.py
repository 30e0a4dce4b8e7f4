"""`python -m bench.probe_commits N`: SQLite write transactions of N job lifecycles, traced in this process.

Each job is created through JobService, then dequeued and executed as huey_consumer would. Every
statement on app.db and queue.db goes through sqlite3's trace callback: app.db's connections are
made by a `sqlite3.Connection` subclass (peewee passes `factory=` on to sqlite3.connect), queue.db's
is Huey's storage connection. Prints one JSON line: {"jobs": N, "counts": {file: {...}}}.
"""
from __future__ import annotations

import json
import sqlite3
import sys
from typing import Callable

from playhouse.db_url import connect

from models.db import SQLITE_PRAGMAS, database
from tasks import config, huey, process

counts: dict[str, dict] = {}
record = [False]


def tracer(name: str) -> Callable[[str], None]:
    """A trace callback counting write transactions (and lock-only ones) on the file called `name`."""
    counts.setdefault(name, {"transactions": 0, "autocommit_writes": 0, "lock_only": 0, "statements": []})
    state = {"in_tx": False, "wrote": False, "locked": False}

    def trace(sql: str) -> None:
        s = sql.strip().upper()
        if s.startswith("BEGIN"):
            state.update(in_tx=True, wrote=False, locked=("IMMEDIATE" in s or "EXCLUSIVE" in s))
        elif s.startswith("COMMIT") or s.startswith("END"):
            if state["wrote"]:
                counts[name]["transactions"] += 1
            elif state["locked"]:
                counts[name]["lock_only"] += 1  # took the write lock, wrote nothing (no WAL frames)
            state["in_tx"] = False
        elif s.startswith("ROLLBACK"):
            state["in_tx"] = False
        elif s.split(" ", 1)[0] in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
            if state["in_tx"]:
                state["wrote"] = True
            else:
                counts[name]["autocommit_writes"] += 1
        if record[0]:
            counts[name]["statements"].append(s[:60])

    return trace


app_trace = tracer("app.db")


class TracedConnection(sqlite3.Connection):
    """A sqlite3 connection that reports every statement to the app.db tracer."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.set_trace_callback(app_trace)


def main(n: int) -> None:
    jobs = process.services().jobs  # prepares the database (migrations, demo budget) untraced
    database.close()
    database.initialize(connect(config.database_url, pragmas=SQLITE_PRAGMAS, timeout=10, factory=TracedConnection))
    huey.storage.conn.set_trace_callback(tracer("queue.db"))
    for i in range(n):
        record[0] = i == 0
        with database.connection_context():
            jobs.create("bench_noop", f"commits{i}")
        task = huey.dequeue()  # what the consumer does: a dequeue transaction, then execute
        huey.execute(task)
    print(json.dumps({"jobs": n, "counts": counts}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
