"""Browser sessions: a random cookie value, stored as its hash, expiring after SESSION_DAYS."""
from __future__ import annotations

import datetime as dt

from auth.secret_tokens import new_secret, secret_hash
from core.clock import Clock, utcnow
from models.auth import AuthSession
from models.db import write_transaction


class SessionStore:
    """Create, look up and end sessions; any web process (or host) sharing the database accepts them."""

    def __init__(self, days: int = 30, clock: Clock = utcnow) -> None:
        self.lifetime = dt.timedelta(days=days)
        self.clock = clock

    def create(self) -> str:
        """A new session's cookie value (expired sessions are purged on the way)."""
        secret = new_secret()
        now = self.clock()
        with write_transaction():
            AuthSession.delete().where(AuthSession.expires_at <= now).execute()
            AuthSession.create(token_hash=secret_hash(secret), created_at=now, expires_at=now + self.lifetime)
        return secret

    def valid(self, secret: str) -> bool:
        """True when `secret` names a session that has not expired."""
        if not secret or len(secret) > 200:
            return False
        row = AuthSession.get_or_none(AuthSession.token_hash == secret_hash(secret))
        return row is not None and row.expires_at > self.clock()

    def end(self, secret: str) -> None:
        """Log out: forget the session."""
        if secret:
            with write_transaction():
                AuthSession.delete().where(AuthSession.token_hash == secret_hash(secret)).execute()
