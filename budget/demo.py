"""The built-in demo budget: a local "server" SQLite file plus a working copy, seeded from `demo_data`.

Files under `root`:
- `server.sqlite`: the source of truth (what a budget server would hold). Every transaction row has
  a `version` (the server's change counter, `meta.version`) and a `changed_at`; `meta` also holds the
  seed and `batches_imported`. Created on first use by `ensure_seeded()` inside one
  `BEGIN IMMEDIATE` transaction, so two processes seeding at once produce one copy.
- `working.sqlite`: the working copy the rest of the service reads. `meta.server_version` is the
  server version it has copied up to; `pull_latest` copies rows with a higher version.

Choices worth knowing:
- `pull_latest` always imports the next bank batch (10-40 uncategorized transactions) into the
  server first, then copies. SyncResult counts transactions only (new = not in the working copy
  before, changed = present with another version); accounts, categories and payees are small and
  copied whole on every pull.
- `fresh_download` builds the new copy in `working.sqlite.download` and swaps it in only when it is
  complete, so a failed or cancelled download leaves the previous working copy intact.
- `set_categories` is idempotent: a transaction whose server category already equals the requested
  one is reported in `applied` (nothing is written), so a retried apply job marks its suggestions
  applied instead of reporting conflicts. Skip reasons: "deleted" (gone or tombstoned on the
  server), "already categorized" (the server has another category), "unknown category", "the
  category is hidden" (hidden after the suggestion was made).
- "Uncategorized" means what Actual means (see budget/connector.py); the demo budget has only
  on-budget accounts, no transfers and no splits, so it is every transaction without a category.
- Test hook: `simulate_remote_change` edits the server as another client would. Failing or slow
  methods are budget/faults.py's wrapper, not this class's.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any, Iterable, Optional

from budget import demo_data
from budget.connector import (
    Account,
    ApplyResult,
    Category,
    ConnectorError,
    Payee,
    Progress,
    Revert,
    RuleOutcome,
    RuleSpec,
    SnapshotFile,
    SyncResult,
    Transaction,
)

log = logging.getLogger(__name__)

CHUNK = 100
BUSY_TIMEOUT_MS = 30000
SKIP_DELETED = "deleted"
SKIP_CATEGORIZED = "already categorized"
SKIP_UNKNOWN_CATEGORY = "unknown category"
SKIP_HIDDEN_CATEGORY = "the category is hidden"
SKIP_CHANGED_SINCE = "changed since the apply"
SKIP_DELETED_SINCE = "deleted since the apply"
RULE_REMOVED = "removed"
RULE_GONE = "already deleted"
RULE_CHANGED = "changed since the apply; left alone"

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL, sort_order INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS category_groups (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " is_income INTEGER NOT NULL DEFAULT 0, sort_order INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS categories (id TEXT PRIMARY KEY, name TEXT NOT NULL, group_id TEXT NOT NULL,"
    " hidden INTEGER NOT NULL DEFAULT 0, tombstone INTEGER NOT NULL DEFAULT 0, sort_order INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS payees (id TEXT PRIMARY KEY, name TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS transactions (id TEXT PRIMARY KEY, account_id TEXT NOT NULL, payee_id TEXT,"
    " imported_payee TEXT NOT NULL, date TEXT NOT NULL, amount INTEGER NOT NULL, category_id TEXT,"
    " notes TEXT NOT NULL DEFAULT '', tombstone INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL,"
    " changed_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS transactions_version ON transactions (version)",
    # "payee is X -> set category Y" rules the bank import honours, as Actual's rules do (server side only)
    "CREATE TABLE IF NOT EXISTS rules (id TEXT PRIMARY KEY, payee_id TEXT, imported_payee TEXT,"
    " category_id TEXT NOT NULL, tombstone INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL)",
]
_TX_COLUMNS = "id, account_id, payee_id, imported_payee, date, amount, category_id, notes, tombstone, version, changed_at"
_UNSET: Any = object()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def _no_progress(done: int, total: int) -> None:
    return None


def _connect(path: Path, *, wal: bool = True) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:  # switching to WAL needs a brief exclusive lock; retry if another process holds it
        try:
            conn.execute("PRAGMA journal_mode=WAL" if wal else "PRAGMA journal_mode=DELETE")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class _Tx:
    """`with _Tx(conn, "IMMEDIATE"):` a transaction committed on success, rolled back on error."""

    def __init__(self, conn: sqlite3.Connection, mode: str = "") -> None:
        self.conn, self.mode = conn, mode

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute(f"BEGIN {self.mode}")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _meta(conn: sqlite3.Connection, key: str, default: Optional[str] = None) -> Optional[str]:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def _set_meta(conn: sqlite3.Connection, key: str, value: Any) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))


def _untag(notes: str, tag: str) -> str:
    """`notes` without the word `tag` (the apply's marker), spacing kept tidy."""
    if not tag or tag not in notes.split():
        return notes
    if notes == tag:
        return ""
    if notes.endswith(" " + tag):
        return notes[: -len(tag) - 1]
    return " ".join(w for w in notes.split(" ") if w != tag)


def _create_schema(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA:
        conn.execute(statement)


class DemoConnector:
    """Connector for the built-in demo budget stored under `root`, generated from `seed`."""

    def __init__(self, root: Path, seed: int) -> None:
        self.root = Path(root)
        self.seed = int(seed)
        self.root.mkdir(parents=True, exist_ok=True)
        self.server_path = self.root / "server.sqlite"
        self.working_path = self.root / "working.sqlite"
        self._server_conn: Optional[sqlite3.Connection] = None
        self._working_conn: Optional[sqlite3.Connection] = None
        self._seeded = False

    # -- connections -------------------------------------------------------------------------
    def _server(self) -> sqlite3.Connection:
        if self._server_conn is None:
            self._server_conn = _connect(self.server_path)
        return self._server_conn

    def _working(self, *, create: bool = False) -> sqlite3.Connection:
        """The working copy; missing: an empty one when `create`, else a fresh download."""
        if self._working_conn is None:
            if not self.working_path.exists():
                if not create:
                    self.fresh_download(_no_progress)
                    assert self._working_conn is not None
                    return self._working_conn
            conn = _connect(self.working_path)
            with _Tx(conn, "IMMEDIATE"):
                _create_schema(conn)
            self._working_conn = conn
        return self._working_conn

    def has_working_copy(self) -> bool:
        """Whether a sync has made the working copy yet (readers that must not create one check this)."""
        return self.working_path.exists()

    def _close_working(self) -> None:
        if self._working_conn is not None:
            self._working_conn.close()
            self._working_conn = None

    def close(self) -> None:
        self._close_working()
        if self._server_conn is not None:
            self._server_conn.close()
            self._server_conn = None

    def __enter__(self) -> "DemoConnector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ready(self) -> None:
        """Seed the server on first use."""
        if not self._seeded:
            self.ensure_seeded()

    # -- seeding -----------------------------------------------------------------------------
    def ensure_seeded(self) -> bool:
        """Create the server from the seed unless it exists; True when this call created it."""
        conn = self._server()
        with _Tx(conn, "IMMEDIATE"):
            _create_schema(conn)
            existing = _meta(conn, "seed")
            if existing is None:
                self._seed_server(conn)
                created = True
            elif int(existing) != self.seed:
                raise ConnectorError(
                    f"The demo budget in {self.root.name} was created with another seed", code="demo_seed_mismatch"
                )
            else:
                created = False
        self._seeded = True
        if created:
            log.info("demo budget seeded: root=%s seed=%s", self.root, self.seed)
        return created

    def _seed_server(self, conn: sqlite3.Connection) -> None:
        budget = demo_data.generate_budget(self.seed)
        conn.executemany(
            "INSERT INTO accounts (id, name, sort_order) VALUES (?, ?, ?)",
            [(a.id, a.name, i) for i, a in enumerate(budget.accounts)],
        )
        conn.executemany(
            "INSERT INTO category_groups (id, name, is_income, sort_order) VALUES (?, ?, ?, ?)",
            [
                (gid, name, int(name in demo_data.INCOME_GROUPS), i)
                for i, (name, gid) in enumerate(demo_data.CATEGORY_GROUP_IDS.items())
            ],
        )
        conn.executemany(
            "INSERT INTO categories (id, name, group_id, sort_order) VALUES (?, ?, ?, ?)",
            [(c.id, c.name, demo_data.CATEGORY_GROUP_IDS[c.group_name], i) for i, c in enumerate(budget.categories)],
        )
        conn.executemany("INSERT INTO payees (id, name) VALUES (?, ?)", [(p.id, p.name) for p in budget.payees])
        self._insert_transactions(conn, budget.transactions, version=1)
        _set_meta(conn, "seed", self.seed)
        _set_meta(conn, "batches_imported", 0)
        _set_meta(conn, "version", 1)

    @staticmethod
    def _insert_transactions(conn: sqlite3.Connection, transactions: Iterable[Transaction], version: int) -> int:
        now = _now()
        rows = [
            (t.id, t.account_id, t.payee_id, t.payee_name, t.date.isoformat(), t.amount, t.category_id, t.notes,
             0, version, now)
            for t in transactions
        ]
        conn.executemany(f"INSERT OR IGNORE INTO transactions ({_TX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
        return len(rows)

    def _import_next_batch(self) -> int:
        """Append the next bank import to the server; the number of transactions it brought."""
        conn = self._server()
        with _Tx(conn, "IMMEDIATE"):
            number = int(_meta(conn, "batches_imported", "0")) + 1
            version = int(_meta(conn, "version", "1")) + 1
            batch = demo_data.next_batch(self.seed, number)
            conn.executemany(
                "INSERT OR IGNORE INTO payees (id, name) VALUES (?, ?)",
                [(t.payee_id, demo_data.payee_display_name(t.payee_id)) for t in batch if t.payee_id],
            )
            self._insert_transactions(conn, batch, version)
            self._run_rules(conn, [t.id for t in batch])
            _set_meta(conn, "batches_imported", number)
            _set_meta(conn, "version", version)
        return len(batch)

    @staticmethod
    def _run_rules(conn: sqlite3.Connection, ids: list[str]) -> int:
        """The bank import honours the budget's rules: an uncategorized new transaction whose payee has one gets it."""
        rules = conn.execute("SELECT payee_id, imported_payee, category_id FROM rules WHERE tombstone = 0"
                             " ORDER BY created_at, id").fetchall()
        if not rules or not ids:
            return 0
        by_payee = {p: c for p, _, c in rules if p}
        by_text = {t.lower(): c for p, t, c in rules if not p and t}
        done = 0
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            rows = conn.execute(f"SELECT id, payee_id, imported_payee FROM transactions WHERE id IN"
                                f" ({','.join('?' * len(chunk))}) AND category_id IS NULL", chunk).fetchall()
            for tid, payee_id, imported in rows:
                category = by_payee.get(payee_id) or by_text.get((imported or "").lower())
                if category:
                    conn.execute("UPDATE transactions SET category_id = ? WHERE id = ?", (category, tid))
                    done += 1
        return done

    def batches_imported(self) -> int:
        self._ready()
        return int(_meta(self._server(), "batches_imported", "0"))

    # -- copying server -> working -----------------------------------------------------------
    def _copy(self, target: sqlite3.Connection, progress: Progress) -> SyncResult:
        """Copy what the server changed since the target's `server_version` into the target."""
        since = int(_meta(target, "server_version", "0"))
        server = self._server()
        with _Tx(server):  # one read snapshot
            version = int(_meta(server, "version", "1"))
            accounts = server.execute("SELECT id, name, sort_order FROM accounts").fetchall()
            groups = server.execute("SELECT id, name, is_income, sort_order FROM category_groups").fetchall()
            categories = server.execute(
                "SELECT id, name, group_id, hidden, tombstone, sort_order FROM categories"
            ).fetchall()
            payees = server.execute("SELECT id, name FROM payees").fetchall()
            rows = server.execute(
                f"SELECT {_TX_COLUMNS} FROM transactions WHERE version > ? ORDER BY version, date, id", (since,)
            ).fetchall()
        total_rows = len(rows)
        progress(0, total_rows)
        new = changed = 0
        with _Tx(target, "IMMEDIATE"):
            for table, data, width in (
                ("accounts", accounts, 3), ("category_groups", groups, 4), ("categories", categories, 6),
                ("payees", payees, 2),
            ):
                target.execute(f"DELETE FROM {table}")
                target.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * width)})", data)
            for start in range(0, total_rows, CHUNK):
                chunk = rows[start : start + CHUNK]
                ids = [r[0] for r in chunk]
                known = dict(
                    target.execute(
                        f"SELECT id, version FROM transactions WHERE id IN ({','.join('?' * len(ids))})", ids
                    ).fetchall()
                )
                for r in chunk:
                    if r[0] not in known:
                        new += 1
                    elif known[r[0]] != r[9]:
                        changed += 1
                target.executemany(
                    f"INSERT OR REPLACE INTO transactions ({_TX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", chunk
                )
                progress(start + len(chunk), total_rows)
            _set_meta(target, "server_version", version)
            _set_meta(target, "seed", self.seed)
            _set_meta(target, "synced_at", _now())
            total = target.execute("SELECT COUNT(*) FROM transactions WHERE tombstone = 0").fetchone()[0]
        return SyncResult(new=new, changed=changed, total=total)

    def pull_latest(self, progress: Progress) -> SyncResult:
        """Import the next bank batch into the server, then copy everything new or changed."""
        self._ready()
        imported = self._import_next_batch()
        result = self._copy(self._working(create=True), progress)
        log.info("demo pull: root=%s imported=%s new=%s changed=%s total=%s",
                 self.root, imported, result.new, result.changed, result.total)
        return result

    def fresh_download(self, progress: Progress) -> SyncResult:
        """Replace the working copy with a complete copy of the server (swapped in when complete)."""
        self._ready()
        self._close_working()
        tmp = self.root / "working.sqlite.download"
        for path in (tmp, Path(f"{tmp}-journal")):
            path.unlink(missing_ok=True)
        conn = _connect(tmp, wal=False)
        try:
            with _Tx(conn, "IMMEDIATE"):
                _create_schema(conn)
            result = self._copy(conn, progress)
        except BaseException:
            conn.close()
            tmp.unlink(missing_ok=True)
            raise
        conn.close()
        for suffix in ("-wal", "-shm", ""):
            Path(f"{self.working_path}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, self.working_path)
        self._working_conn = _connect(self.working_path)
        return result

    # -- reading the working copy ------------------------------------------------------------
    def accounts(self) -> list[Account]:
        self._ready()
        rows = self._working().execute("SELECT id, name FROM accounts ORDER BY sort_order, name").fetchall()
        return [Account(*r) for r in rows]

    def categories(self) -> list[Category]:
        self._ready()
        rows = self._working().execute(
            "SELECT c.id, c.name, g.name FROM categories c JOIN category_groups g ON g.id = c.group_id"
            " WHERE c.hidden = 0 AND c.tombstone = 0 ORDER BY g.sort_order, c.sort_order"
        ).fetchall()
        return [Category(*r) for r in rows]

    def payees(self) -> list[Payee]:
        self._ready()
        rows = self._working().execute("SELECT id, name FROM payees ORDER BY name, id").fetchall()
        return [Payee(*r) for r in rows]

    def uncategorized_ids(self) -> list[str]:
        self._ready()
        return [r[0] for r in self._working().execute(
            "SELECT id FROM transactions WHERE tombstone = 0 AND category_id IS NULL ORDER BY date, id")]

    def transactions(self) -> list[Transaction]:
        self._ready()
        rows = self._working().execute(
            "SELECT t.id, t.account_id, COALESCE(a.name, ''), t.payee_id, t.imported_payee, t.date, t.amount,"
            " t.category_id, t.notes FROM transactions t LEFT JOIN accounts a ON a.id = t.account_id"
            " WHERE t.tombstone = 0 ORDER BY t.date, t.id"
        ).fetchall()
        return [
            Transaction(id=r[0], account_id=r[1], account_name=r[2], payee_id=r[3], payee_name=r[4],
                        date=dt.date.fromisoformat(r[5]), amount=r[6], category_id=r[7], notes=r[8])
            for r in rows
        ]

    # -- writing -----------------------------------------------------------------------------
    def set_categories(self, assignments: dict[str, str], progress: Progress) -> ApplyResult:
        """Write categories to the server, then the working copy; skip what changed on the server."""
        self._ready()
        items = list(assignments.items())
        total = len(items)
        applied: list[str] = []
        skipped: dict[str, str] = {}
        written: list[tuple[str, str]] = []
        progress(0, total)
        server = self._server()
        with _Tx(server, "IMMEDIATE"):
            valid = {r[0] for r in server.execute("SELECT id FROM categories WHERE tombstone = 0")}
            hidden = {r[0] for r in server.execute("SELECT id FROM categories WHERE tombstone = 0 AND hidden = 1")}
            version = int(_meta(server, "version", "1")) + 1
            now = _now()
            for done, (tid, cid) in enumerate(items, 1):
                row = server.execute("SELECT category_id, tombstone FROM transactions WHERE id = ?", (tid,)).fetchone()
                if row is None or row[1]:
                    skipped[tid] = SKIP_DELETED
                elif cid not in valid:
                    skipped[tid] = SKIP_UNKNOWN_CATEGORY
                elif cid in hidden and row[0] != cid:
                    skipped[tid] = SKIP_HIDDEN_CATEGORY
                elif row[0] is None:
                    server.execute(
                        "UPDATE transactions SET category_id = ?, version = ?, changed_at = ? WHERE id = ?",
                        (cid, version, now, tid),
                    )
                    written.append((tid, cid))
                    applied.append(tid)
                elif row[0] == cid:
                    applied.append(tid)  # applied already (idempotent retry): nothing to write
                else:
                    skipped[tid] = SKIP_CATEGORIZED
                if done % CHUNK == 0:
                    progress(done, total)
            if written:
                _set_meta(server, "version", version)
        if written:
            working = self._working(create=True)
            with _Tx(working, "IMMEDIATE"):
                working.executemany(
                    "UPDATE transactions SET category_id = ?, version = ? WHERE id = ?",
                    [(cid, version, tid) for tid, cid in written],
                )
        progress(total, total)
        log.info("demo apply: root=%s written=%s already=%s skipped=%s",
                 self.root, len(written), len(applied) - len(written), len(skipped))
        return ApplyResult(applied=applied, skipped=skipped)

    def tag_notes(self, transaction_ids: list[str], tag: str) -> list[str]:
        """Append ` <tag>` to these transactions' notes on the server and the working copy (once)."""
        self._ready()
        if not tag or not transaction_ids:
            return []
        tagged: list[tuple[str, str]] = []
        server = self._server()
        with _Tx(server, "IMMEDIATE"):
            version = int(_meta(server, "version", "1")) + 1
            for tid in transaction_ids:
                row = server.execute("SELECT notes FROM transactions WHERE id = ? AND tombstone = 0", (tid,)).fetchone()
                if row is None or tag in (row[0] or "").split():
                    continue
                notes = f"{row[0]} {tag}" if row[0] else tag
                server.execute("UPDATE transactions SET notes = ?, version = ?, changed_at = ? WHERE id = ?",
                               (notes, version, _now(), tid))
                tagged.append((tid, notes))
            if tagged:
                _set_meta(server, "version", version)
        self._write_working([(notes, version, tid) for tid, notes in tagged], "notes")
        return [tid for tid, _ in tagged]

    def revert_categories(self, reverts: dict[str, Revert], progress: Progress) -> ApplyResult:
        """Put the previous categories back where the transaction still has the applied one; drop the note tag."""
        self._ready()
        restored: list[str] = []
        skipped: dict[str, str] = {}
        writes: list[tuple[Optional[str], str, str]] = []
        total = len(reverts)
        progress(0, total)
        server = self._server()
        with _Tx(server, "IMMEDIATE"):
            version = int(_meta(server, "version", "1")) + 1
            for done, (tid, r) in enumerate(reverts.items(), 1):
                row = server.execute("SELECT category_id, tombstone, notes FROM transactions WHERE id = ?",
                                     (tid,)).fetchone()
                if row is None or row[1]:
                    skipped[tid] = SKIP_DELETED_SINCE
                elif row[0] != r.expected and not (row[0] == r.restore and r.note_tag not in (row[2] or "").split()):
                    skipped[tid] = SKIP_CHANGED_SINCE  # (already restored, e.g. by a retried undo, counts as restored)
                else:
                    notes = _untag(row[2] or "", r.note_tag)
                    server.execute("UPDATE transactions SET category_id = ?, notes = ?, version = ?, changed_at = ?"
                                   " WHERE id = ?", (r.restore, notes, version, _now(), tid))
                    writes.append((r.restore, notes, tid))
                    restored.append(tid)
                if done % CHUNK == 0:
                    progress(done, total)
            if writes:
                _set_meta(server, "version", version)
        working = self._working(create=True)
        with _Tx(working, "IMMEDIATE"):
            working.executemany("UPDATE transactions SET category_id = ?, notes = ?, version = ? WHERE id = ?",
                                [(cat, notes, version, tid) for cat, notes, tid in writes])
        progress(total, total)
        return ApplyResult(applied=restored, skipped=skipped)

    def _write_working(self, rows: list[tuple], column: str) -> None:
        if rows:
            working = self._working(create=True)
            with _Tx(working, "IMMEDIATE"):
                working.executemany(f"UPDATE transactions SET {column} = ?, version = ? WHERE id = ?", rows)

    def create_rules(self, specs: list[RuleSpec]) -> list[RuleOutcome]:
        """Add "payee -> category" rules to the server's rules table; an identical live rule is reused."""
        self._ready()
        out: list[RuleOutcome] = []
        server = self._server()
        with _Tx(server, "IMMEDIATE"):
            for spec in specs:
                payee_id = None if spec.imported else spec.payee_id
                text = spec.payee_name if spec.imported else None
                row = server.execute(
                    "SELECT id FROM rules WHERE tombstone = 0 AND category_id = ? AND payee_id IS ?"
                    " AND lower(COALESCE(imported_payee, '')) = lower(COALESCE(?, ''))",
                    (spec.category_id, payee_id, text)).fetchone()
                if row is not None:
                    out.append(RuleOutcome(spec, row[0], False))
                    continue
                rule_id = f"rule-{uuid.uuid4().hex[:12]}"
                server.execute("INSERT INTO rules (id, payee_id, imported_payee, category_id, tombstone, created_at)"
                               " VALUES (?, ?, ?, ?, 0, ?)", (rule_id, payee_id, text, spec.category_id, _now()))
                out.append(RuleOutcome(spec, rule_id, True))
        return out

    def delete_rules(self, rules: dict[str, RuleSpec]) -> dict[str, str]:
        """Delete rules that are still what they were created as; others are left alone (and said so)."""
        self._ready()
        out: dict[str, str] = {}
        server = self._server()
        with _Tx(server, "IMMEDIATE"):
            for rule_id, spec in rules.items():
                row = server.execute("SELECT payee_id, imported_payee, category_id, tombstone FROM rules WHERE id = ?",
                                     (rule_id,)).fetchone()
                if row is None or row[3]:
                    out[rule_id] = RULE_GONE
                elif row[2] != spec.category_id or (row[0] or None) != (None if spec.imported else spec.payee_id):
                    out[rule_id] = RULE_CHANGED
                else:
                    server.execute("UPDATE rules SET tombstone = 1 WHERE id = ?", (rule_id,))
                    out[rule_id] = RULE_REMOVED
        return out

    def rules(self) -> list[dict]:
        """The live rules of the demo budget (id, payee_id, imported_payee, category_id)."""
        self._ready()
        rows = self._server().execute("SELECT id, payee_id, imported_payee, category_id FROM rules"
                                      " WHERE tombstone = 0 ORDER BY created_at, id").fetchall()
        return [dict(zip(("id", "payee_id", "imported_payee", "category_id"), r)) for r in rows]

    def simulate_remote_change(self, transaction_id: str, *, category_id: Optional[str] = _UNSET,
                               deleted: bool = False) -> None:
        """Test hook: change a transaction on the server as another client would."""
        self._ready()
        server = self._server()
        with _Tx(server, "IMMEDIATE"):
            version = int(_meta(server, "version", "1")) + 1
            sets, args = ["version = ?", "changed_at = ?"], [version, _now()]
            if category_id is not _UNSET:
                sets.append("category_id = ?")
                args.append(category_id)
            if deleted:
                sets.append("tombstone = 1")
            cursor = server.execute(f"UPDATE transactions SET {', '.join(sets)} WHERE id = ?", (*args, transaction_id))
            if cursor.rowcount != 1:
                raise KeyError(transaction_id)
            _set_meta(server, "version", version)

    # -- snapshot ----------------------------------------------------------------------------
    def snapshot(self, dest: Path) -> SnapshotFile:
        """A consistent SQLite backup of the working copy at `dest`, with its counts."""
        self._ready()
        working = self._working()
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.unlink(missing_ok=True)
        target = sqlite3.connect(str(dest))
        try:
            working.backup(target)
        finally:
            target.close()
        check = sqlite3.connect(str(dest))
        try:
            tx_count = check.execute("SELECT COUNT(*) FROM transactions WHERE tombstone = 0").fetchone()[0]
            cat_count = check.execute(
                "SELECT COUNT(*) FROM categories WHERE hidden = 0 AND tombstone = 0"
            ).fetchone()[0]
        finally:
            check.close()
        return SnapshotFile(path=dest, size_bytes=dest.stat().st_size, transaction_count=tx_count,
                            category_count=cat_count)
