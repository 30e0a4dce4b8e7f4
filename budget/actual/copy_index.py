"""What the working copy held after the last pull, so a pull that brings nothing reads nothing.

Kept in DATA_DIR/budgets/<fileId>/budget-assist-index beside the copy's db.sqlite: a first line of JSON
(`state`, `total`, `uncategorized`: the eligible transactions' count and the ids of those without a
category) and a pickle of {transaction id: digest of its eligible row} (what `ActualConnector._diff`
compares; None when `transactions()` wrote the summary after a first download: a later pull that finds new
messages then reads the digests from the copy before it downloads). It is trusted only while the database file is exactly as it was when the index was written:
`state` is the file's inode, size, mtime (ns) and SQLite's file change counter (header bytes 24-27, which
SQLite increments on every committed write in the copy's rollback-journal mode); a hot journal or a WAL
beside it means "unknown". Any mismatch, a missing or unreadable index: the caller reads the copy as before.
The index is written to a temp name and renamed (by a pull under the connector's working-copy lock, or by a
read that saw the same state before and after); a crash leaves the old index (whose state no longer matches)
or none. Pickles written by this process only, as model_cache's.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import sqlite3
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

log = logging.getLogger(__name__)

NAME = "budget-assist-index"
MAGIC = b"budget-assist-copy-index 1\n"
CATEGORY = 7
"""Position of the category in an ELIGIBLE_SQL row (budget/actual/rules.py)."""


def file_state(db_path: Path) -> Optional[list]:
    """What changes whenever SQLite commits a write to `db_path`; None when that cannot be told."""
    for suffix in ("-journal", "-wal"):
        if os.path.exists(f"{db_path}{suffix}"):
            return None  # a write in progress, a hot journal, or WAL mode: the header alone says nothing
    try:
        with open(db_path, "rb") as f:
            st = os.fstat(f.fileno())
            header = f.read(100)
    except OSError:
        return None
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns, int.from_bytes(header[24:28], "big")]


def digest(row: tuple) -> int:
    """A compact digest of an eligible row without its id (a 64-bit int; equal rows, equal digests)."""
    data = repr(row[1:]).encode()
    return zlib.crc32(data) << 32 | zlib.adler32(data)


@dataclass
class Summary:
    """The index's first line: the state it was written for, the eligible count, the uncategorized ids."""

    state: list
    total: int
    uncategorized: list[str]
    last_message: str = ""  # the newest message timestamp the server had sent when the copy was pulled


class CopyIndex:
    """Read and write the index of one working copy folder."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / NAME
        self.db_path = self.data_dir / "db.sqlite"

    def summary(self, state: Optional[list] = None) -> Optional[Summary]:
        """The summary when it was written for the copy's current state (or `state`), else None."""
        state = state if state is not None else file_state(self.db_path)
        if state is None:
            return None
        try:
            with open(self.path, "rb") as f:
                head = _head(f, state)
        except (OSError, ValueError):
            return None
        return _summary(head) if head is not None else None

    def load(self, state: Optional[list]) -> Optional[tuple[Summary, dict[str, int]]]:
        """(summary, {transaction id: digest}) when the index was written for `state`, else None."""
        if state is None:
            return None
        try:
            with open(self.path, "rb") as f:
                head = _head(f, state)
                if head is None:
                    return None
                rows = pickle.load(f)
        except FileNotFoundError:
            return None
        except Exception as exc:  # corrupt: read the copy instead
            log.warning("working copy index %s unreadable (%s)", self.path, type(exc).__name__)
            return None
        if not isinstance(rows, dict) or len(rows) != head.get("total"):
            return None  # a summary without digests (or a damaged file): the caller reads the copy
        return _summary(head), rows

    def write(self, state: Optional[list], digests: Optional[dict[str, int]], uncategorized: list[str],
              last_message: str = "", total: Optional[int] = None) -> None:
        """Store the index for `state` (nothing when None); without digests (None) only the summary (`total`
        then counts the rows). A failure is logged, never raised."""
        if state is None:
            self.discard()
            return
        try:
            fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".index-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(MAGIC)
                    f.write(json.dumps({"state": state, "total": len(digests) if digests is not None else total,
                                        "uncategorized": uncategorized,
                                        "last": last_message},
                                       separators=(",", ":")).encode() + b"\n")
                    pickle.dump(digests, f, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except Exception as exc:
            log.warning("working copy index %s not written (%s)", self.path, type(exc).__name__)

    def discard(self) -> None:
        """Remove the index (the copy is then read on the next pull)."""
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def _head(f, state: list) -> Optional[dict]:
    """The index's JSON head when the file is an index written for `state`, else None (reads two lines of `f`)."""
    if f.readline() != MAGIC:
        return None
    head = json.loads(f.readline())
    return head if head.get("state") == state else None


def _summary(head: dict) -> Summary:
    return Summary(head["state"], int(head["total"]), list(head["uncategorized"]), str(head.get("last") or ""))


def read_rows(conn: sqlite3.Connection, sql: str) -> tuple[dict[str, int], list[str]]:
    """({id: digest} of every eligible row, ids of the uncategorized ones) from one pass over `sql`."""
    digests: dict[str, int] = {}
    uncategorized: list[str] = []
    for row in conn.execute(sql):
        digests[row[0]] = digest(row)
        if row[CATEGORY] is None:
            uncategorized.append(row[0])
    return digests, uncategorized
