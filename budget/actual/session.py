"""The connection to one Actual server for one process: logs in once and reuses the token.

The server allows only 5 failed logins per 15 minutes per address, so a failed login is remembered
and never retried in this process.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import httpx

from budget.actual.errors import ErrorTranslator, display_url
from budget.connector import ConnectorError

if TYPE_CHECKING:
    from actual import Actual

    from budget.actual.connector import ActualConnector

log = logging.getLogger(__name__)


class ActualSession:
    """The connection to one Actual server for one process: logs in once and reuses the token."""

    def __init__(self, base_url: str, password: str, *, timeout: float = 60.0, token: Optional[str] = None) -> None:
        if not base_url:
            raise ConnectorError("ACTUAL_SERVER_URL is not set.", code="actual_config")
        self.base_url = base_url.rstrip("/")
        self.display_url = display_url(self.base_url)
        self.timeout = timeout
        self._password = password
        self._token = token
        self._login_error: Optional[ConnectorError] = None
        self._lock = threading.Lock()
        self.errors = ErrorTranslator(self.display_url, self.scrub)

    def __repr__(self) -> str:  # never show the password or token
        return f"ActualSession({self.display_url!r})"

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
        return self.log_in()

    def log_in(self, timeout: Optional[float] = None) -> str:
        """The token, logging in first when there is none (within `timeout`, default the session's).

        A failed login is remembered and never tried again; a transient failure (unreachable, timeout) is not.
        """
        with self._lock:
            if self._token:
                return self._token
            if self._login_error is not None:
                raise self._login_error
            try:
                self._token = self._login(timeout or self.timeout)
            except ConnectorError as exc:
                if not exc.transient:  # wrong password etc.: remember, never try again
                    self._login_error = exc
                raise
            return self._token

    def _login(self, timeout: float) -> str:
        if not self._password:
            raise ConnectorError(
                "ACTUAL_PASSWORD is not set; set it to the Actual server's password.", code="actual_auth"
            )
        log.info("logging in to the Actual server at %s", self.display_url)
        with self.errors.translate("log in"):
            resp = httpx.post(
                f"{self.base_url}/account/login",
                json={"loginMethod": "password", "password": self._password},
                timeout=timeout,
            )
        try:
            body = resp.json()
        except ValueError:
            body = {}
        reason = body.get("reason") if isinstance(body, dict) else None
        if resp.status_code >= 500:
            raise self.errors.server_error(resp.status_code)
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

    # -- server calls ----------------------------------------------------------------------------
    def client(self, data_dir: Optional[Path] = None, encryption_password: Optional[str] = None) -> "Actual":
        """A fresh `actual.Actual` authenticated with the cached token (no login); close it with `with`."""
        from actual import Actual
        from actual.exceptions import AuthorizationError

        def open_with(token: str) -> Actual:
            return Actual(base_url=self.base_url, token=token, data_dir=str(data_dir) if data_dir else None,
                          encryption_password=encryption_password, timeout=self.timeout)

        token = self.token
        try:
            with self.errors.translate("open a connection"):
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
        with self.errors.translate("open a connection"):
            return open_with(self.token)

    def remote_files(self) -> list:
        """Non-deleted files on the server (actualpy RemoteFileListDTO)."""
        with self.client() as actual, self.errors.translate("list the budget files"):
            files = actual.list_user_files().data
        return [f for f in files if not f.deleted]

    def list_budget_files(self) -> list[tuple[str, str]]:
        """[(file_id, name)] of the server's budget files."""
        return [(f.file_id, f.name) for f in self.remote_files()]

    def file_exists(self, file_id: str) -> bool:
        """Whether the server has this (non-deleted) budget file."""
        return any(f.file_id == file_id for f in self.remote_files())

    def connector(self, file_id: str, data_dir: Path, encryption_password: Optional[str] = None) -> "ActualConnector":
        """An `ActualConnector` for one file of this server."""
        from budget.actual.connector import ActualConnector

        return ActualConnector(self, file_id, data_dir, encryption_password)


_SHARED: dict[tuple[str, str], ActualSession] = {}
_SHARED_LOCK = threading.Lock()


def shared_session(base_url: str, password: str) -> ActualSession:
    """This process's one session for a server and password; a forked child (a gunicorn worker) inherits its
    parent's, with the token the parent logged in with (or the failure it remembered)."""
    key = (base_url.rstrip("/"), password)
    with _SHARED_LOCK:
        session = _SHARED.get(key)
        if session is None:
            session = _SHARED[key] = ActualSession(base_url, password)
        return session


WARM_UP_LOGIN_SECONDS = 5.0


def warm_up(base_url: Optional[str], password: Optional[str]) -> None:
    """At process start: import actualpy and, with a server configured, log in once, so no job or request pays
    either (about a second together). Never raises: a failure is logged, and a wrong password is remembered as
    on first use (never tried again); an unreachable server is tried again by the first job that needs it.

    Called before the process forks or starts threads that use the session (gunicorn's master before it forks
    its workers, the worker's startup hook), so the session's lock is never held across a fork.
    """
    import actual  # noqa: F401  (actualpy with SQLModel, SQLAlchemy and its protobuf models)
    import actual.database  # noqa: F401
    import actual.queries  # noqa: F401

    if not base_url:
        return
    try:
        shared_session(base_url, password or "").log_in(timeout=WARM_UP_LOGIN_SECONDS)
    except ConnectorError as exc:
        log.warning("Actual server not logged in at start: %s", exc)
    except Exception as exc:  # never stop a process from starting
        log.warning("Actual server not logged in at start (%s)", type(exc).__name__)
