"""Login sessions, API tokens and failed logins: stored hashed, shared by every web process."""
from __future__ import annotations

import peewee as pw

from models.db import BaseModel


class AuthSession(BaseModel):
    """A logged-in browser: the SHA-256 of its cookie value, and when it expires."""

    token_hash = pw.CharField(primary_key=True, max_length=64)
    created_at = pw.DateTimeField()
    expires_at = pw.DateTimeField()

    class Meta:
        table_name = "auth_session"


class ApiToken(BaseModel):
    """A named bearer token for scripts: the SHA-256 of the token, never the token."""

    id = pw.AutoField()
    name = pw.CharField(max_length=100)
    token_hash = pw.CharField(max_length=64, unique=True)
    created_at = pw.DateTimeField()
    last_used_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "api_token"


class LoginFailure(BaseModel):
    """One failed login from a client address (the rate limiter counts the last minute's)."""

    id = pw.AutoField()
    address = pw.CharField(max_length=64)
    created_at = pw.DateTimeField()

    class Meta:
        table_name = "login_failure"
