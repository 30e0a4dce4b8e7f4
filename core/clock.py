"""Time, passed in as a collaborator so tests can control it."""
from __future__ import annotations

import datetime as dt
from typing import Callable

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    """The current UTC time as a naive datetime (the database stores naive UTC)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def isoformat(value: dt.datetime | None) -> str | None:
    """A naive UTC datetime as ISO 8601 with a Z suffix, or None."""
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds") + "Z"
