"""Failed logins per client address: 5 a minute, counted in the database so every web process agrees."""
from __future__ import annotations

import datetime as dt
import math
from typing import Optional

from core.clock import Clock, utcnow
from models.auth import LoginFailure
from models.db import write_transaction


class LoginLimiter:
    """Allows `limit` failed logins per address within `window_seconds`."""

    def __init__(self, limit: int = 5, window_seconds: float = 60.0, clock: Clock = utcnow) -> None:
        self.limit = limit
        self.window = dt.timedelta(seconds=window_seconds)
        self.clock = clock

    def retry_after(self, address: str) -> Optional[int]:
        """Seconds until `address` may try again, or None when it may try now."""
        since = self.clock() - self.window
        recent = (LoginFailure.select(LoginFailure.created_at)
                  .where(LoginFailure.address == address[:64], LoginFailure.created_at > since)
                  .order_by(LoginFailure.created_at.desc()).limit(self.limit))
        times = [row.created_at for row in recent]
        if len(times) < self.limit:
            return None
        wait = (times[-1] - since).total_seconds()
        return max(1, math.ceil(wait))

    def failed(self, address: str) -> None:
        """Record a failed login (and drop records older than the window)."""
        now = self.clock()
        with write_transaction():
            LoginFailure.delete().where(LoginFailure.created_at <= now - self.window).execute()
            LoginFailure.create(address=address[:64], created_at=now)
