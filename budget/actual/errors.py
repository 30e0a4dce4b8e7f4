"""Turns httpx and actualpy failures into user-safe `ConnectorError`s (never a password or a token)."""
from __future__ import annotations

import contextlib
import logging
from typing import Callable, Iterator, Optional
from urllib.parse import urlsplit, urlunsplit

import httpx

from budget.connector import ConnectorError

log = logging.getLogger(__name__)

RESET_MESSAGE = (
    "The budget was reset on the Actual server (its sync id changed), so the local copy can no "
    "longer be synced. Run \"Download Budget Again\" to discard the local copy and download the budget again."
)


def display_url(url: str) -> str:
    """The server URL without any user:password part."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


class ErrorTranslator:
    """The sentences for one Actual server's failures; `scrub` removes secrets from server texts."""

    def __init__(self, display_url: str, scrub: Callable[[str], str]) -> None:
        self.display_url = display_url
        self.scrub = scrub

    def server_error(self, status: int) -> ConnectorError:
        """The server answered 5xx: transient."""
        return ConnectorError(
            f"The Actual server at {self.display_url} answered with an error (HTTP {status}). "
            "Try again later; if it persists, check the server's logs.",
            transient=True,
            code="actual_server_error",
        )

    def unreachable(self) -> ConnectorError:
        """No connection to the server: transient."""
        return ConnectorError(
            f"Cannot reach the Actual server at {self.display_url}. Check that it is running and "
            "that ACTUAL_SERVER_URL is right.",
            transient=True,
            code="actual_unreachable",
        )

    def not_found(self, file_id: Optional[str]) -> ConnectorError:
        """The budget file is not (or no longer) on the server."""
        return ConnectorError(
            f"The budget file {file_id} does not exist on the Actual server at {self.display_url} "
            "(deleted or wrong id). Pick a budget from GET /api/budgets.",
            code="budget_not_found",
        )

    @contextlib.contextmanager
    def translate(self, action: str, file_id: Optional[str] = None) -> Iterator[None]:
        """Turn httpx / actualpy failures raised inside the block into user-safe ConnectorErrors."""
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
            raise self.unreachable() from None
        except httpx.TimeoutException:
            raise ConnectorError(
                f"The Actual server at {self.display_url} did not answer in time while trying to {action}. "
                "Try again later.",
                transient=True,
                code="actual_timeout",
            ) from None
        except httpx.TransportError:
            raise self.unreachable() from None
        except httpx.HTTPStatusError as exc:
            raise self._http_status(exc, action, what, file_id) from None
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

    def _http_status(self, exc: httpx.HTTPStatusError, action: str, what: str,
                     file_id: Optional[str]) -> ConnectorError:
        status = exc.response.status_code
        text = exc.response.text[:200] if exc.response is not None else ""
        if status >= 500:
            return self.server_error(status)
        if status == 429:
            return ConnectorError(
                f"The Actual server at {self.display_url} is rate-limiting requests. Try again in a minute.",
                transient=True,
                code="actual_rate_limited",
            )
        if "file-has-reset" in text:
            return ConnectorError(RESET_MESSAGE, code="actual_sync_reset")
        if "file-has-new-key" in text:
            return ConnectorError(
                f"The encryption key of {what} changed on the server. Check ACTUAL_ENCRYPTION_PASSWORD "
                "and run \"Download Budget Again\".",
                code="actual_encryption",
            )
        if "file-not-found" in text or status == 404:
            return self.not_found(file_id)
        if status in (401, 403) or "unauthorized" in text or "token-expired" in text:
            return ConnectorError(
                f"The Actual server at {self.display_url} refused access while trying to {action} "
                f"(HTTP {status}). Check ACTUAL_PASSWORD and that this user may open the file.",
                code="actual_auth",
            )
        return ConnectorError(
            f"The Actual server refused to {action} (HTTP {status}: {self.scrub(text)[:80]}).",
            code="actual_error",
        )
