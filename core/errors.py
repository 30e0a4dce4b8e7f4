"""Service-level errors; api/errors.py maps each to one HTTP status."""
from __future__ import annotations

from typing import Optional


class ServiceError(Exception):
    """Base of the errors a service raises for the caller to see."""

    code = "error"

    def __init__(self, message: str, *, field: Optional[str] = None, code: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class NotFound(ServiceError):
    """The thing named in the path does not exist."""

    code = "not_found"


class ValidationFailed(ServiceError):
    """A body or query field is missing, mistyped or refers to nothing."""

    code = "invalid"


class InvalidTransition(ServiceError):
    """A job or step cannot move from its current status to the one asked for."""

    code = "invalid_transition"


class Conflict(ServiceError):
    """The request clashes with the current state (e.g. an idempotency key reused)."""

    code = "conflict"


class Unavailable(ServiceError):
    """A service this request depends on (the Actual server) cannot be reached or refused us."""

    code = "unavailable"
