"""The Actual Budget connector: one budget file on an Actual sync server, through actualpy.

`ActualConnector` works on one budget file with a persistent working copy in `data_dir`
(DATA_DIR/budgets/<fileId>/), never actualpy's temp default.

How the working copy is kept up to date (actualpy 0.22 gotchas):
- Every operation opens a fresh `actual.Actual` on the same `data_dir`. `download_budget()` then
  resumes the copy and syncs the messages newer than the clock stored in the copy's database.
  A long-lived `Actual` would miss other clients' changes after `commit()`: commit advances the
  in-memory clock past them. The stored clock only moves when messages are received.
- `set_categories` and `revert_categories` (an undo) write Actual sync messages of their own
  (adapter.py explains why not actualpy's ORM), both through `_write_checked`: they send first, read
  back what others sent meanwhile, and change the working copy only after the server accepted; if
  that local write then fails, the next pull brings our own messages back from the server.
- An encrypted file's password is proven against the server's key test before any pull or send.
- A reset sync id (the server's groupId differs from the copy's) is NOT recovered silently:
  `pull_latest` raises ConnectorError(code="actual_sync_reset") asking the user to run
  "Download Budget Again" (= `fresh_download`), unless `auto_recover_reset=True`.

Every failure is a `ConnectorError` whose message is user-actionable and never contains the
password, the encryption password or the token.
"""
from __future__ import annotations

import contextlib
import collections
import datetime as dt
import fcntl
import json
import logging
import shutil
import sqlite3
import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Optional

from budget import actual_review
from budget.actual import adapter
from budget.actual.errors import RESET_MESSAGE
from budget.actual.copy_index import CopyIndex, file_state, read_rows
from budget.actual.rules import ELIGIBLE_SQL, SKIP_CHANGED, UNCATEGORIZED_SQL, Checked, \
    Writes, apply_writes, revert_writes
from budget.actual.session import ActualSession
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

if TYPE_CHECKING:
    from actual import Actual

log = logging.getLogger(__name__)

READS: collections.Counter = collections.Counter()
"""How often this process read every eligible transaction of a working copy ("eligible"), and how often a
pull found the copy untouched and read nothing ("pull_unchanged"): what tests count instead of timing."""


def _int_date(value: Optional[int]) -> dt.date:
    value = int(value or 19700101)
    return dt.date(value // 10000, value // 100 % 100, value % 100)


class ActualConnector:
    """One budget file on an Actual server plus its working copy in `data_dir`."""

    def __init__(
        self,
        session: ActualSession,
        file_id: str,
        data_dir: Path,
        encryption_password: Optional[str] = None,
        *,
        auto_recover_reset: bool = False,
    ) -> None:
        self.session = session
        self.file_id = file_id
        self.data_dir = Path(data_dir)
        self._encryption_password = encryption_password or None
        self.auto_recover_reset = auto_recover_reset
        self._read: Optional[tuple[list, list[Transaction]]] = None  # (copy state, transactions) of the last read

    def __repr__(self) -> str:
        return f"ActualConnector({self.session.display_url!r}, {self.file_id!r}, {str(self.data_dir)!r})"

    # -- working copy ----------------------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.data_dir / "db.sqlite"

    def has_working_copy(self) -> bool:
        return self.db_path.is_file() and (self.data_dir / "metadata.json").is_file()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Only one process at a time works on a working copy."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.data_dir.parent / f".{self.data_dir.name}.lock"
        with open(lock_path, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConnectorError(
                    f"Another job is working on the local copy of budget {self.file_id}; try again when it is done.",
                    transient=True,
                    code="budget_busy",
                ) from None
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _require_working_copy(self) -> None:
        if not self.has_working_copy():
            raise ConnectorError(
                f"There is no local copy of budget {self.file_id} yet; run a sync first.", code="no_working_copy"
            )

    def _connect(self) -> sqlite3.Connection:
        self._require_working_copy()
        return sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)

    def _fingerprints(self) -> dict[str, int]:
        """{transaction id: digest of its eligible row}: from the copy's index when it is current, else read."""
        if not self.has_working_copy():
            return {}
        loaded = CopyIndex(self.data_dir).load(file_state(self.db_path))
        return loaded[1] if loaded is not None else self._index()[0]

    def _index(self, last_message: str = "") -> tuple[dict[str, int], list[str]]:
        """Read every eligible row once: their digests and the uncategorized ids; kept as the copy's index.

        Called under the working-copy lock; the index is written only when the file did not move meanwhile.
        `last_message`: the newest message timestamp the pull saw before it downloaded (what the copy has at least).
        """
        state = file_state(self.db_path)
        with contextlib.closing(self._connect()) as conn:
            digests, uncategorized = read_rows(conn, ELIGIBLE_SQL)
        READS["eligible"] += 1
        CopyIndex(self.data_dir).write(state if state == file_state(self.db_path) else None, digests, uncategorized,
                                       last_message)
        return digests, uncategorized

    def _remote_file(self, actual):
        with self.session.errors.translate("find the budget file", self.file_id):
            files = actual.list_user_files().data
        for f in files:
            if f.file_id == self.file_id and not f.deleted:
                return f
        raise self.session.errors.not_found(self.file_id)

    def _local_group_id(self) -> Optional[str]:
        try:
            return json.loads((self.data_dir / "metadata.json").read_text()).get("groupId")
        except (OSError, ValueError):
            return None

    def _check_encryption(self, remote) -> None:
        if remote.encrypt_key_id and not self._encryption_password:
            raise ConnectorError(
                f"Budget file {self.file_id} is end-to-end encrypted; set ACTUAL_ENCRYPTION_PASSWORD to its "
                "encryption password.",
                code="actual_encryption",
            )

    @contextlib.contextmanager
    def _client(self, target: Path) -> Iterator["Actual"]:
        """A fresh actualpy client with `target` as its data_dir, closed (files and HTTP) on exit."""
        actual = self.session.client(target, self._encryption_password)
        try:
            yield actual
        finally:
            with contextlib.suppress(Exception):
                actual.__exit__(None, None, None)

    def _download(self, actual: "Actual", target: Path, remote) -> Optional[bytes]:
        """Open the budget in `target` (download or resume, migrations, sync); the verified key, if encrypted.

        The encryption password is proven against the server's key test first, as Actual's own client
        does: actualpy notices a wrong key only when it has something new to decrypt, and would
        otherwise send changes encrypted with it that no device can read.
        """
        self._check_encryption(remote)
        key = self._verify_key(actual, remote)
        actual.set_file(remote)
        target.mkdir(parents=True, exist_ok=True)
        with self.session.errors.translate("download the budget", self.file_id), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                actual.__enter__()  # download_budget(): download or resume, migrations, sync
            except Exception as exc:  # wrong encryption password surfaces as a crypto error
                if type(exc).__name__ in ("InvalidTag", "InvalidKey") or "decrypt" in type(exc).__name__.lower():
                    from actual.exceptions import ActualDecryptionError

                    raise ActualDecryptionError("decryption failed") from None
                raise
        return key

    def _verify_key(self, actual: "Actual", remote) -> Optional[bytes]:
        if not remote.encrypt_key_id:
            return None
        try:
            with self.session.errors.translate("check the encryption password", self.file_id):
                return adapter.verified_key(actual, self.file_id, self._encryption_password)
        except adapter.KeyMismatch as exc:
            log.warning("budget %s: the encryption password does not match (%s)", self.file_id, exc)
            raise ConnectorError(
                f"The encryption password in ACTUAL_ENCRYPTION_PASSWORD is wrong for budget file {self.file_id}: "
                "it does not open the key test the Actual server keeps for this file. Nothing was read from "
                "or sent to the budget. Set the budget's end-to-end encryption password and restart the worker.",
                code="actual_encryption",
            ) from None

    # -- Connector protocol ----------------------------------------------------------------------
    def pull_latest(self, progress: Progress) -> SyncResult:
        """Incremental sync into the persistent copy; a missing copy is downloaded.

        Warm (the copy as the last pull left it, its index current): one exact sync request first; when the
        server has no message newer than the copy's, nothing is downloaded, migrated, written or read.
        """
        with self._locked():
            if not self.has_working_copy():
                return self._fresh_download(progress)
            index = CopyIndex(self.data_dir)
            state = file_state(self.db_path)
            known = index.summary(state)  # the copy is as the last pull left it: nothing to read yet
            before = None if known is not None else self._index()[0]
            progress(0, 1)
            newer: list[str] = []
            with self._client(self.data_dir) as actual:
                remote = self._remote_file(actual)
                reset = remote.group_id != self._local_group_id()
                if not reset:
                    since = max(adapter.stored_since(self.db_path), known.last_message if known is not None else "")
                    self._check_encryption(remote)
                    self._verify_key(actual, remote)  # a wrong password fails every pull, as before
                    with self.session.errors.translate("check the budget for changes", self.file_id):
                        newer = adapter.newer_than(actual, remote, since)
                    if newer or state is None:
                        if before is None:  # the copy as it is before the download: its digests, kept or read
                            loaded = index.load(state)
                            before = loaded[1] if loaded is not None else self._index()[0]
                        self._download(actual, self.data_dir, remote)
            if reset:
                if not self.auto_recover_reset:
                    raise ConnectorError(RESET_MESSAGE, code="actual_sync_reset")
                log.warning("budget %s: sync id reset on the server, downloading it again", self.file_id)
                return self._fresh_download(progress)
            progress(1, 1)
            if state is not None and file_state(self.db_path) == state:
                # nothing new on the server, or a pull that wrote nothing: the copy is what it was
                READS["pull_unchanged"] += 1
                return SyncResult(new=0, changed=0, total=known.total if known is not None else len(before or ()))
            return self._diff(before or {}, self._index(last_message=max(newer, default=""))[0])

    def fresh_download(self, progress: Progress) -> SyncResult:
        """Download into a new folder and swap it in only when complete."""
        with self._locked():
            return self._fresh_download(progress)

    def _fresh_download(self, progress: Progress) -> SyncResult:
        before = self._fingerprints()
        progress(0, 1)
        tmp = self.data_dir.with_name(f".{self.data_dir.name}.download-{uuid.uuid4().hex[:8]}")
        try:
            with self._client(tmp) as actual:
                self._download(actual, tmp, self._remote_file(actual))
            old = self.data_dir.with_name(f".{self.data_dir.name}.old-{uuid.uuid4().hex[:8]}")
            if self.data_dir.exists():
                self.data_dir.rename(old)
            tmp.rename(self.data_dir)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        progress(1, 1)
        if not before:  # a first download: everything is new; read once, kept for the job's next step and the index
            total = len(self.transactions())
            return SyncResult(new=total, changed=0, total=total)
        return self._diff(before, self._index()[0])

    def uncategorized_ids(self) -> list[str]:
        """Ids of the eligible transactions without a category (from the copy's index when it is current)."""
        summary = CopyIndex(self.data_dir).summary() if self.has_working_copy() else None
        if summary is not None:
            return summary.uncategorized
        with contextlib.closing(self._connect()) as conn:
            return [r[0] for r in conn.execute(UNCATEGORIZED_SQL)]

    @staticmethod
    def _diff(before: dict[str, int], after: dict[str, int]) -> SyncResult:
        new = sum(1 for k in after if k not in before)
        changed = sum(1 for k, v in after.items() if k in before and before[k] != v)
        changed += sum(1 for k in before if k not in after)  # deleted (or no longer eligible)
        return SyncResult(new=new, changed=changed, total=len(after))

    def accounts(self) -> list[Account]:
        with contextlib.closing(self._connect()) as conn:
            rows = conn.execute(
                "SELECT id, name FROM accounts WHERE COALESCE(tombstone, 0) = 0 ORDER BY sort_order, name"
            ).fetchall()
        return [Account(id=r[0], name=r[1] or "") for r in rows]

    def categories(self) -> list[Category]:
        with contextlib.closing(self._connect()) as conn:
            rows = conn.execute(
                """SELECT c.id, c.name, COALESCE(g.name, '') FROM categories c
                   LEFT JOIN category_groups g ON g.id = c.cat_group
                   WHERE COALESCE(c.tombstone, 0) = 0 AND COALESCE(c.hidden, 0) = 0
                     AND COALESCE(g.tombstone, 0) = 0 AND COALESCE(g.hidden, 0) = 0
                   ORDER BY g.sort_order, c.sort_order, c.name"""
            ).fetchall()
        return [Category(id=r[0], name=r[1] or "", group_name=r[2]) for r in rows]

    def payees(self) -> list[Payee]:
        with contextlib.closing(self._connect()) as conn:
            rows = conn.execute(
                """SELECT id, name FROM payees
                   WHERE COALESCE(tombstone, 0) = 0 AND transfer_acct IS NULL AND COALESCE(name, '') != ''
                   ORDER BY name"""
            ).fetchall()
        return [Payee(id=r[0], name=r[1]) for r in rows]

    def transactions(self) -> list[Transaction]:
        """Read in one pass (no list of raw rows beside the result); repeated texts (accounts, payees,
        categories, notes) share one string each. Kept while the copy is unchanged, so a job's next step
        (suggestions after a first sync) reads nothing again. Keeps the copy's index summary when it has
        none yet (after a first download: the uncategorized ids for the next generate; the row digests are
        left out, a later pull that finds new messages reads them before it downloads)."""
        index = CopyIndex(self.data_dir)
        state = file_state(self.db_path)
        if state is not None and self._read is not None and self._read[0] == state:
            return list(self._read[1])  # the copy is as this connector last read it
        self._read = None
        keep_index = state is not None and index.summary(state) is None
        uncategorized: list[str] = []
        texts: dict = {"": ""}
        share = texts.setdefault
        dates: dict = {}
        out: list[Transaction] = []
        with contextlib.closing(self._connect()) as conn:
            # columns as in Transaction's fields; notes and imported payee come as '' (never NULL)
            for tx_id, acct, acct_name, payee_id, payee, day, amount, category, notes, imported in conn.execute(
                    ELIGIBLE_SQL):
                if category is None:
                    uncategorized.append(tx_id)
                date = dates.get(day)
                if date is None:
                    date = dates[day] = _int_date(day)
                out.append(Transaction(
                    tx_id, share(acct, acct), share(acct_name or "", acct_name or ""), share(payee_id, payee_id),
                    share(payee or "", payee or ""), date, int(amount or 0), share(category, category),
                    share(notes, notes), share(imported, imported),
                ))
        READS["eligible"] += 1
        if state is not None and state == file_state(self.db_path):
            self._read = (state, out)
            if keep_index:
                index.write(state, None, uncategorized, total=len(out))
        return list(out)

    @contextlib.contextmanager
    def _pulled(self) -> Iterator[tuple["Actual", object, Optional[bytes]]]:
        """Lock the working copy and pull into it; yield (the client, the remote file, the verified key)."""
        with self._locked():
            self._require_working_copy()
            with self._client(self.data_dir) as actual:
                remote = self._remote_file(actual)
                if remote.group_id != self._local_group_id():
                    raise ConnectorError(RESET_MESSAGE, code="actual_sync_reset")
                yield actual, remote, self._download(actual, self.data_dir, remote)

    def set_categories(self, assignments: dict[str, str], progress: Progress) -> ApplyResult:
        """Pull, re-check each transaction, send; a concurrent edit by another client is never overwritten."""
        if not assignments:
            return ApplyResult()
        return self._write_checked("save the categories", lambda conn: apply_writes(conn, assignments, progress))

    def revert_categories(self, reverts: dict[str, Revert], progress: Progress) -> ApplyResult:
        """Undo an apply as it was written: pull, re-check, send; a concurrent edit by another client is kept."""
        if not reverts:
            return ApplyResult()
        return self._write_checked("restore the categories", lambda conn: revert_writes(conn, reverts, progress))

    def _write_checked(self, action: str, check: Callable[[sqlite3.Connection], Checked]) -> ApplyResult:
        """Pull, decide each row on the fresh copy with `check`, send what it decided; never overwrite a person.

        Sent as sync messages (adapter.py) stamped as made right after the pulled state, so an edit a
        person makes meanwhile is newer and wins in every client whichever arrives first. The server's
        answer, and one read back right after, show what other clients sent since our pull: a row of
        ours they changed meanwhile is skipped as "changed by someone else" and, where ours would still
        win (an older edit that arrived late), gets their value back. The working copy is changed only
        after the server accepted.
        """
        with self._pulled() as (actual, remote, key):
            with contextlib.closing(self._connect()) as conn:
                done, skipped, writes = check(conn)
            changed: set[str] = set()
            if writes:
                with self.session.errors.translate(action, self.file_id):
                    changed = self._send(actual, remote, key, writes)
            skipped.update(dict.fromkeys(changed, SKIP_CHANGED))
            result = ApplyResult(applied=done + [tx for tx in writes if tx not in changed], skipped=skipped)
        log.info("budget %s: %s: %d done, %d skipped", self.file_id, action, len(result.applied), len(result.skipped))
        return result

    def _send(self, actual: "Actual", remote, key: Optional[bytes], writes: Writes) -> set[str]:
        """Send the writes, put back what another client changed meanwhile; the ids changed by them."""
        clock = adapter.stored_clock(actual)
        since, client = str(clock), adapter.new_client(clock)
        messages = [adapter.message("transactions", tx, column, value)
                    for tx, columns in writes.items() for column, (value, _) in columns.items()]
        ours, others = adapter.send(actual, remote, key, since, client, messages)
        sent_at = {(c.row, c.column): c.timestamp for c in ours}
        others += adapter.send(actual, remote, key, since, client, [])[1]  # read back: what arrived meanwhile
        changed: set[str] = set()
        for _ in range(3):  # their newest value wins; a restore can cross yet another edit, look again
            theirs = [c for c in others if c.dataset == "transactions" and c.row in writes and c.row not in changed]
            if not theirs:
                break
            restores = []
            for tx_id in {c.row for c in theirs}:
                changed.add(tx_id)
                for column, (_, before) in writes[tx_id].items():
                    values = sorted((c.timestamp, c.value) for c in theirs if c.row == tx_id and c.column == column)
                    if values and values[-1][0] > sent_at[(tx_id, column)]:
                        continue  # their value is newer than ours: it already wins everywhere
                    restores.append(adapter.message("transactions", tx_id, column, values[-1][1] if values else before))
            log.warning("budget %s: %d transactions were changed by someone else meanwhile; theirs kept",
                        self.file_id, len(changed))
            others = adapter.send(actual, remote, key, since, client, restores)[1] if restores else []
        adapter.apply_locally(actual, [m for m in messages if m.row not in changed])
        return changed

    # -- review: rules and note tags (budget/actual_review.py) ---------------------------------
    @contextlib.contextmanager
    def _session_write(self, action: str) -> Iterator[object]:
        """Pull, yield the actualpy session; what it changed is sent as sync messages, then written locally.

        actualpy's ORM only turns the changes into messages (flush); they go to the server first
        (adapter.send) and into the working copy only once the server accepted them.
        """
        with self._pulled() as (actual, remote, key):
            s = actual.session
            with self.session.errors.translate(action, self.file_id):
                yield s
                s.flush()
                messages = list(s.info.get("messages") or [])
                s.rollback()
                if messages:
                    clock = adapter.stored_clock(actual)
                    adapter.send(actual, remote, key, str(clock), adapter.new_client(clock), messages)
                    adapter.apply_locally(actual, messages)

    def tag_notes(self, transaction_ids: list[str], tag: str) -> list[str]:
        if not tag or not transaction_ids:
            return []
        with self._session_write("tag the notes") as s:
            return actual_review.tag_notes(s, transaction_ids, tag)

    def create_rules(self, specs: list[RuleSpec]) -> list[RuleOutcome]:
        if not specs:
            return []
        with self._session_write("create the rules") as s:
            return actual_review.create_rules(s, specs)

    def delete_rules(self, rules: dict[str, RuleSpec]) -> dict[str, str]:
        if not rules:
            return {}
        with self._session_write("remove the rules") as s:
            return actual_review.delete_rules(s, rules)

    def snapshot(self, dest: Path) -> SnapshotFile:
        dest = Path(dest)
        if dest.is_dir():
            dest = dest / f"{self.file_id}.sqlite"
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".tmp")
        with contextlib.closing(self._connect()) as src, contextlib.closing(sqlite3.connect(tmp)) as out:
            src.backup(out)
        tmp.replace(dest)
        with contextlib.closing(sqlite3.connect(f"file:{dest}?mode=ro", uri=True)) as conn:
            transactions = conn.execute(
                "SELECT COUNT(*) FROM transactions WHERE COALESCE(tombstone, 0) = 0"
            ).fetchone()[0]
            categories = conn.execute(
                "SELECT COUNT(*) FROM categories WHERE COALESCE(tombstone, 0) = 0 AND COALESCE(hidden, 0) = 0"
            ).fetchone()[0]
        return SnapshotFile(
            path=dest, size_bytes=dest.stat().st_size,
            transaction_count=int(transactions), category_count=int(categories),
        )

    def close(self) -> None:
        """Nothing stays open between calls."""
