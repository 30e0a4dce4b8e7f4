"""A clock the test moves by hand (for every collaborator that takes `clock=`)."""
from __future__ import annotations

import datetime as dt


class Clock:
    """Returns `now` until the test calls `advance`."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now
