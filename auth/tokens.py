"""API tokens for scripts: created once in plain text, stored hashed, listed and revoked by id."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from auth.secret_tokens import new_secret, secret_hash
from core.clock import Clock, isoformat, utcnow
from core.errors import NotFound, ValidationFailed
from models.auth import ApiToken
from models.db import write_transaction

TOKEN_PREFIX = "ba_"
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)  # at most one write per token and minute


def token_dict(row: ApiToken) -> dict:
    """The API form of a token: never its secret."""
    return {"id": row.id, "name": row.name, "createdAt": isoformat(row.created_at),
            "lastUsedAt": isoformat(row.last_used_at)}


class TokenService:
    """Create, list, revoke and check API tokens."""

    def __init__(self, clock: Clock = utcnow) -> None:
        self.clock = clock

    def create(self, name: str) -> tuple[ApiToken, str]:
        """A new token named `name` and its secret (shown once, never stored)."""
        name = (name or "").strip()
        if not name or len(name) > 100 or not name.isprintable():
            raise ValidationFailed("name must be 1 to 100 printable characters.", field="name", code="invalid_value")
        secret = new_secret(TOKEN_PREFIX)
        with write_transaction():
            row = ApiToken.create(name=name, token_hash=secret_hash(secret), created_at=self.clock())
        return row, secret

    def list(self) -> list[ApiToken]:
        """Every token, oldest first."""
        return list(ApiToken.select().order_by(ApiToken.id))

    def revoke(self, token_id: int) -> None:
        """Delete a token; NotFound when there is none with that id."""
        with write_transaction():
            if not ApiToken.delete().where(ApiToken.id == token_id).execute():
                raise NotFound(f"No token with id {token_id}.")

    def check(self, secret: str) -> Optional[ApiToken]:
        """The token whose secret this is (its last use recorded), or None."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        row = ApiToken.get_or_none(ApiToken.token_hash == secret_hash(secret))
        if row is None:
            return None
        now = self.clock()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            with write_transaction():
                ApiToken.update(last_used_at=now).where(ApiToken.id == row.id).execute()
            row.last_used_at = now
        return row
