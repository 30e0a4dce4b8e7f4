"""The Actual Budget connector: a budget file on an Actual sync server, through actualpy.

`ActualSession` (one per worker process) logs in once and reuses the token: the server allows only
5 failed logins per 15 minutes per address, so a failed login is remembered and never retried in
this process. `ActualConnector` works on one budget file with a persistent working copy in
`data_dir` (DATA_DIR/budgets/<fileId>/), never actualpy's temp default.

How the working copy is kept up to date (actualpy 0.22 gotchas):
- Every operation opens a fresh `actual.Actual` on the same `data_dir`. `download_budget()` then
  resumes the copy and syncs the messages newer than the clock stored in the copy's database.
  A long-lived `Actual` would miss other clients' changes after `commit()`: commit advances the
  in-memory clock past them. The stored clock only moves when messages are received.
- `set_categories` sends its messages to the server first and commits locally only after the
  server accepted them (actualpy's `commit()` does it the other way round); if the local commit
  then fails, the next pull brings our own messages back from the server.
- A reset sync id (the server's groupId differs from the copy's) is NOT recovered silently:
  `pull_latest` raises ConnectorError(code="actual_sync_reset") asking the user to run
  "Redownload Snapshot" (= `fresh_download`), unless `auto_recover_reset=True`.

Every failure is a `ConnectorError` whose message is user-actionable and never contains the
password, the encryption password or the token.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import shutil
import sqlite3
import threading
import uuid
import warnings
from pathlib import Path
from typing import Iterator, Optional
from urllib.parse import urlsplit, urlunsplit

import httpx

from budget.connector import (
    Account,
    ApplyResult,
    Category,
    ConnectorError,
    Payee,
    Progress,
    SnapshotFile,
    SyncResult,
    Transaction,
)

log = logging.getLogger(__name__)

RESET_MESSAGE = (
    "The budget was reset on the Actual server (its sync id changed), so the local copy can no "
    "longer be synced. Run \"Redownload Snapshot\" to discard the local copy and download the budget again."
)


def _display_url(url: str) -> str:
    """The server URL without any user:password part."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


class ActualSession:
    """The connection to one Actual server for one process: logs in once and reuses the token."""

    def __init__(self, base_url: str, password: str, *, timeout: float = 60.0, token: Optional[str] = None) -> None:
        if not base_url:
            raise ConnectorError("ACTUAL_SERVER_URL is not set.", code="actual_config")
        self.base_url = base_url.rstrip("/")
        self.display_url = _display_url(self.base_url)
        self.timeout = timeout
        self._password = password
        self._token = token
        self._login_error: Optional[ConnectorError] = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never show the password or token
        return f"ActualSession({self.display_url!r})"

    # -- secrets ---------------------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        """Remove the password and token from a text that is about to be shown or logged."""
        for secret in (self._password, self._token):
            if secret:
                text = text.replace(secret, "***")
        return text

    # -- login -----------------------------------------------------------------------------------
    @property
    def token(self) -> str:
        """The session token; logs in on first use. A failed login is never retried."""
        with self._lock:
            if self._token:
                return self._token
            if self._login_error is not None:
                raise self._login_error
            try:
                self._token = self._login()
            except ConnectorError as exc:
                if not exc.transient:  # wrong password etc.: remember, never try again
                    self._login_error = exc
                raise
            return self._token

    def _login(self) -> str:
        if not self._password:
            raise ConnectorError(
                "ACTUAL_PASSWORD is not set; set it to the Actual server's password.", code="actual_auth"
            )
        log.info("logging in to the Actual server at %s", self.display_url)
        with self.translate_errors("log in"):
            resp = httpx.post(
                f"{self.base_url}/account/login",
                json={"loginMethod": "password", "password": self._password},
                timeout=self.timeout,
            )
        try:
            body = resp.json()
        except ValueError:
            body = {}
        reason = body.get("reason") if isinstance(body, dict) else None
        if resp.status_code >= 500:
            raise self._server_error(resp.status_code)
        if reason == "invalid-password" or (resp.status_code in (400, 401, 403) and reason != "too-many-requests"):
            raise ConnectorError(
                f"The Actual server at {self.display_url} rejected the password. Check ACTUAL_PASSWORD "
                "and restart the worker (failed logins are not retried: the server locks out "
                "an address after 5 failures in 15 minutes).",
                code="actual_auth",
            )
        if resp.status_code == 429 or reason == "too-many-requests":
            raise ConnectorError(
                f"The Actual server at {self.display_url} refuses logins after too many failed attempts. "
                "Wait 15 minutes, check ACTUAL_PASSWORD and restart the worker.",
                code="actual_auth",
            )
        token = (body.get("data") or {}).get("token") if isinstance(body, dict) else None
        if resp.status_code != 200 or not token:
            raise ConnectorError(
                f"Logging in to the Actual server at {self.display_url} failed (HTTP {resp.status_code}"
                f"{', ' + self.scrub(str(reason)) if reason else ''}). Check ACTUAL_SERVER_URL and ACTUAL_PASSWORD.",
                code="actual_auth",
            )
        return token

    def forget_token(self, token: str) -> None:
        """Drop a token the server no longer accepts, so the next use logs in again (once)."""
        with self._lock:
            if self._token == token:
                self._token = None

    # -- errors ----------------------------------------------------------------------------------
    def _server_error(self, status: int) -> ConnectorError:
        return ConnectorError(
            f"The Actual server at {self.display_url} answered with an error (HTTP {status}). "
            "Try again later; if it persists, check the server's logs.",
            transient=True,
            code="actual_server_error",
        )

    def _unreachable(self) -> ConnectorError:
        return ConnectorError(
            f"Cannot reach the Actual server at {self.display_url}. Check that it is running and "
            "that ACTUAL_SERVER_URL is right.",
            transient=True,
            code="actual_unreachable",
        )

    @contextlib.contextmanager
    def translate_errors(self, action: str, file_id: Optional[str] = None) -> Iterator[None]:
        """Turn httpx / actualpy failures into user-safe ConnectorErrors."""
        from actual.exceptions import (
            ActualDecryptionError,
            ActualError,
            AuthorizationError,
            InvalidFile,
            UnknownFileId,
        )

        what = f"budget file {file_id}" if file_id else "the Actual server"
        try:
            yield
        except ConnectorError:
            raise
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError):
            raise self._unreachable() from None
        except httpx.TimeoutException:
            raise ConnectorError(
                f"The Actual server at {self.display_url} did not answer in time while trying to {action}. "
                "Try again later.",
                transient=True,
                code="actual_timeout",
            ) from None
        except httpx.TransportError:
            raise self._unreachable() from None
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            text = exc.response.text[:200] if exc.response is not None else ""
            if status >= 500:
                raise self._server_error(status) from None
            if status == 429:
                raise ConnectorError(
                    f"The Actual server at {self.display_url} is rate-limiting requests. Try again in a minute.",
                    transient=True,
                    code="actual_rate_limited",
                ) from None
            if "file-has-reset" in text:
                raise ConnectorError(RESET_MESSAGE, code="actual_sync_reset") from None
            if "file-has-new-key" in text:
                raise ConnectorError(
                    f"The encryption key of {what} changed on the server. Check ACTUAL_ENCRYPTION_PASSWORD "
                    "and run \"Redownload Snapshot\".",
                    code="actual_encryption",
                ) from None
            if "file-not-found" in text or status == 404:
                raise self.not_found(file_id) from None
            if status in (401, 403) or "unauthorized" in text or "token-expired" in text:
                raise ConnectorError(
                    f"The Actual server at {self.display_url} refused access while trying to {action} "
                    "(HTTP {status}). Check ACTUAL_PASSWORD and that this user may open the file.".replace(
                        "{status}", str(status)
                    ),
                    code="actual_auth",
                ) from None
            raise ConnectorError(
                f"The Actual server refused to {action} (HTTP {status}: {self.scrub(text)[:80]}).",
                code="actual_error",
            ) from None
        except UnknownFileId:
            raise self.not_found(file_id) from None
        except InvalidFile:
            raise ConnectorError(RESET_MESSAGE, code="actual_sync_reset") from None
        except ActualDecryptionError:
            raise ConnectorError(
                f"Cannot decrypt {what}: the encryption password is missing or wrong. "
                "Set ACTUAL_ENCRYPTION_PASSWORD to the budget's end-to-end encryption password.",
                code="actual_encryption",
            ) from None
        except AuthorizationError:
            raise ConnectorError(
                f"The Actual server at {self.display_url} did not accept the login. Check ACTUAL_PASSWORD.",
                code="actual_auth",
            ) from None
        except ActualError as exc:
            raise ConnectorError(
                f"Actual could not {action}: {self.scrub(str(exc))[:200]}", code="actual_error"
            ) from None
        except ValueError as exc:  # pydantic / JSON: the answer is not what an Actual server sends
            log.warning("unexpected answer from %s while trying to %s (%s)", self.display_url, action,
                        type(exc).__name__)
            raise ConnectorError(
                f"The server at {self.display_url} gave an unexpected answer while trying to {action}. "
                "Check that ACTUAL_SERVER_URL points to an Actual sync server.",
                code="actual_bad_response",
            ) from None

    def not_found(self, file_id: Optional[str]) -> ConnectorError:
        return ConnectorError(
            f"The budget file {file_id} does not exist on the Actual server at {self.display_url} "
            "(deleted or wrong id). Pick a budget from GET /api/budgets.",
            code="budget_not_found",
        )

    # -- server calls ----------------------------------------------------------------------------
    def client(self, data_dir: Optional[Path] = None, encryption_password: Optional[str] = None):
        """A fresh `actual.Actual` authenticated with the cached token (no login)."""
        from actual import Actual
        from actual.exceptions import AuthorizationError

        def open_with(token: str):
            return Actual(base_url=self.base_url, token=token, data_dir=str(data_dir) if data_dir else None,
                          encryption_password=encryption_password, timeout=self.timeout)

        token = self.token
        try:
            with self.translate_errors("open a connection"):
                try:
                    return open_with(token)
                except httpx.HTTPStatusError as exc:
                    if exc.response.status_code in (401, 403):
                        raise AuthorizationError("token rejected") from None
                    raise
        except ConnectorError as exc:
            if exc.code != "actual_auth" or not self._password:
                raise
        # the token is no longer valid (server data reset, expiry): log in again, once
        self.forget_token(token)
        with self.translate_errors("open a connection"):
            return open_with(self.token)

    def remote_files(self) -> list:
        """Non-deleted files on the server (actualpy RemoteFileListDTO)."""
        actual = self.client()
        try:
            with self.translate_errors("list the budget files"):
                files = actual.list_user_files().data
        finally:
            actual._requests_session.close()
        return [f for f in files if not f.deleted]

    def list_budget_files(self) -> list[tuple[str, str]]:
        """[(file_id, name)] of the server's budget files."""
        return [(f.file_id, f.name) for f in self.remote_files()]

    def file_exists(self, file_id: str) -> bool:
        return any(f.file_id == file_id for f in self.remote_files())

    def connector(self, file_id: str, data_dir: Path, encryption_password: Optional[str] = None) -> "ActualConnector":
        return ActualConnector(self, file_id, data_dir, encryption_password)


# ------------------------------------------------------------------------------------------------
_ELIGIBLE_SQL = """
SELECT t.id, t.acct, a.name, COALESCE(pm.targetId, t.description), p.name, t.date, t.amount,
       CASE WHEN c.id IS NULL OR c.tombstone = 1 THEN NULL ELSE COALESCE(cm.transferId, t.category) END,
       COALESCE(t.notes, '')
FROM transactions t
JOIN accounts a ON a.id = t.acct AND COALESCE(a.tombstone, 0) = 0
LEFT JOIN payee_mapping pm ON pm.id = t.description
LEFT JOIN payees p ON p.id = COALESCE(pm.targetId, t.description)
LEFT JOIN category_mapping cm ON cm.id = t.category
LEFT JOIN categories c ON c.id = COALESCE(cm.transferId, t.category)
LEFT JOIN transactions parent ON parent.id = t.parent_id
WHERE COALESCE(t.tombstone, 0) = 0
  AND COALESCE(t.isParent, 0) = 0
  AND (t.parent_id IS NULL OR COALESCE(parent.tombstone, 0) = 0)
  AND t.transferred_id IS NULL
  AND p.transfer_acct IS NULL
  AND COALESCE(t.starting_balance_flag, 0) = 0
  AND NOT (COALESCE(p.name, '') = 'Starting Balance' AND p.transfer_acct IS NULL
           AND COALESCE(c.is_income, 0) = 1)
ORDER BY t.date DESC, t.sort_order DESC, t.id
"""


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

    def _connect(self) -> sqlite3.Connection:
        if not self.has_working_copy():
            raise ConnectorError(
                f"There is no local copy of budget {self.file_id} yet; run a sync first.", code="no_working_copy"
            )
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        return conn

    def _fingerprints(self) -> dict[str, tuple]:
        if not self.has_working_copy():
            return {}
        with contextlib.closing(self._connect()) as conn:
            return {row[0]: tuple(row[1:]) for row in conn.execute(_ELIGIBLE_SQL)}

    def _remote_file(self, actual):
        with self.session.translate_errors("find the budget file", self.file_id):
            files = actual.list_user_files().data
        for f in files:
            if f.file_id == self.file_id and not f.deleted:
                return f
        raise self.session.not_found(self.file_id)

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
    def _open(self, target: Path, remote=None, actual=None) -> Iterator[object]:
        """Open the budget with `target` as actualpy's data_dir (download or resume + sync)."""
        if actual is None:
            actual = self.session.client(target, self._encryption_password)
        try:
            if remote is None:
                remote = self._remote_file(actual)
            self._check_encryption(remote)
            actual.set_file(remote)
            target.mkdir(parents=True, exist_ok=True)
            with self.session.translate_errors("download the budget", self.file_id), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    actual.__enter__()  # download_budget(): download or resume, migrations, sync
                except Exception as exc:  # wrong encryption password surfaces as a crypto error
                    if type(exc).__name__ in ("InvalidTag", "InvalidKey") or "decrypt" in type(exc).__name__.lower():
                        from actual.exceptions import ActualDecryptionError

                        raise ActualDecryptionError("decryption failed") from None
                    raise
            yield actual
        finally:
            with contextlib.suppress(Exception):
                actual.__exit__(None, None, None)

    # -- Connector protocol ----------------------------------------------------------------------
    def pull_latest(self, progress: Progress) -> SyncResult:
        """Incremental sync into the persistent copy; a missing copy is downloaded."""
        with self._locked():
            if not self.has_working_copy():
                return self._fresh_download(progress)
            before = self._fingerprints()
            progress(0, 1)
            actual = self.session.client(self.data_dir, self._encryption_password)
            remote = self._remote_file(actual)
            if remote.group_id != self._local_group_id():
                actual._requests_session.close()
                if not self.auto_recover_reset:
                    raise ConnectorError(RESET_MESSAGE, code="actual_sync_reset")
                log.warning("budget %s: sync id reset on the server, downloading it again", self.file_id)
                return self._fresh_download(progress)
            with self._open(self.data_dir, remote, actual):
                pass
            after = self._fingerprints()
            progress(1, 1)
            return self._diff(before, after)

    def fresh_download(self, progress: Progress) -> SyncResult:
        """Download into a new folder and swap it in only when complete."""
        with self._locked():
            return self._fresh_download(progress)

    def _fresh_download(self, progress: Progress) -> SyncResult:
        before = self._fingerprints()
        progress(0, 1)
        tmp = self.data_dir.with_name(f".{self.data_dir.name}.download-{uuid.uuid4().hex[:8]}")
        try:
            with self._open(tmp):
                pass
            old = self.data_dir.with_name(f".{self.data_dir.name}.old-{uuid.uuid4().hex[:8]}")
            if self.data_dir.exists():
                self.data_dir.rename(old)
            tmp.rename(self.data_dir)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        after = self._fingerprints()
        progress(1, 1)
        return self._diff(before, after)

    @staticmethod
    def _diff(before: dict[str, tuple], after: dict[str, tuple]) -> SyncResult:
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
        with contextlib.closing(self._connect()) as conn:
            rows = conn.execute(_ELIGIBLE_SQL).fetchall()
        return [
            Transaction(
                id=r[0], account_id=r[1], account_name=r[2] or "", payee_id=r[3], payee_name=r[4] or "",
                date=_int_date(r[5]), amount=int(r[6] or 0), category_id=r[7], notes=r[8] or "",
            )
            for r in rows
        ]

    def set_categories(self, assignments: dict[str, str], progress: Progress) -> ApplyResult:
        """Sync first, skip what changed on the server, send the rest, commit locally once accepted."""
        from actual.database import Categories, Transactions
        from actual.protobuf_models import SyncRequest

        if not assignments:
            return ApplyResult()
        with self._locked():
            if not self.has_working_copy():
                raise ConnectorError(
                    f"There is no local copy of budget {self.file_id} yet; run a sync first.", code="no_working_copy"
                )
            actual = self.session.client(self.data_dir, self._encryption_password)
            remote = self._remote_file(actual)
            if remote.group_id != self._local_group_id():
                actual._requests_session.close()
                raise ConnectorError(RESET_MESSAGE, code="actual_sync_reset")
            applied: list[str] = []
            skipped: dict[str, str] = {}
            total = len(assignments)
            with self._open(self.data_dir, remote, actual):
                s = actual.session
                for done, (tx_id, cat_id) in enumerate(assignments.items(), start=1):
                    tx = s.get(Transactions, tx_id)
                    cat = s.get(Categories, cat_id) if cat_id else None
                    if tx is None:
                        skipped[tx_id] = "not found in the budget"
                    elif tx.tombstone:
                        skipped[tx_id] = "deleted on the server"
                    elif tx.category_id == cat_id:
                        applied.append(tx_id)  # already has this category (e.g. a retried apply)
                    elif tx.category_id:
                        skipped[tx_id] = "already categorized on the server"
                    elif tx.is_parent or tx.transferred_id:
                        skipped[tx_id] = "became a split or a transfer on the server"
                    elif cat is None or cat.tombstone:
                        skipped[tx_id] = "the category no longer exists"
                    else:
                        tx.category_id = cat_id
                        applied.append(tx_id)
                    if done % 100 == 0 or done == total:
                        progress(done, total)
                with self.session.translate_errors("save the categories", self.file_id):
                    s.flush()
                    messages = s.info.get("messages") or []
                    if messages:
                        clock = actual._sync_client
                        req = SyncRequest({"fileId": remote.file_id, "groupId": remote.group_id})
                        if remote.encrypt_key_id:
                            req.keyId = remote.encrypt_key_id
                        req.set_timestamp(client_id=clock.client_id, now=clock.ts, initial_count=clock.initial_count)
                        req.set_messages(messages, clock, master_key=actual._master_key)
                        actual.sync_sync(req)  # raises unless the server accepted them
                    s.commit()
            log.info("budget %s: applied %d categories, skipped %d", self.file_id, len(applied), len(skipped))
            return ApplyResult(applied=applied, skipped=skipped)

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
