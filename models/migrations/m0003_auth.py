"""Sessions, API tokens and failed logins (issue 11)."""
from __future__ import annotations

import peewee as pw

from models.auth import ApiToken, AuthSession, LoginFailure

INDEXES = [
    "CREATE INDEX auth_session_expires ON auth_session (expires_at)",
    "CREATE INDEX login_failure_address_created ON login_failure (address, created_at)",
]


def up(db: pw.Database) -> None:
    """Create the three tables of issue 11."""
    db.create_tables([AuthSession, ApiToken, LoginFailure], safe=False)
    for statement in INDEXES:
        db.execute_sql(statement)
