"""A suggestion an apply skipped keeps why (suggestion.skip_reason); its status becomes 'skipped', not 'rejected'.

m0001 creates its tables from the current models, so a database created after this change already has the
column: it is added only where it is missing.
"""
from __future__ import annotations

import peewee as pw


def up(db: pw.Database) -> None:
    """Add suggestion.skip_reason (nullable text) unless the table already has it."""
    if "skip_reason" not in {c.name for c in db.get_columns("suggestion")}:
        db.execute_sql("ALTER TABLE suggestion ADD COLUMN skip_reason TEXT")
