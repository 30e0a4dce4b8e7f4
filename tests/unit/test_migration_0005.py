"""Migration 0005 adds suggestion.skip_reason to a database made before it, and is a no-op on a new one."""
from __future__ import annotations

from models.db import database
from models.migrate import migrate


def columns(table):
    return {c.name for c in database.get_columns(table)}


def test_a_new_database_has_the_column_and_0005_recorded(db):
    assert "skip_reason" in columns("suggestion")
    assert database.execute_sql("SELECT 1 FROM schema_version WHERE version = 5").fetchone() == (1,)


def test_an_older_database_gets_the_column_and_keeps_its_rows(db):
    database.execute_sql("INSERT INTO suggestion (id, budget_id, transaction_id, payee_name, payee_key, amount, date,"
                         " account_name, proposed_category_id, proposed_category_name, confidence, rationale, status,"
                         " created_at, updated_at, open, origin, create_rule) VALUES ('s1', 'demo', 't1', 'Shop', 'shop', -100,"
                         " '2026-01-01', 'Checking', 'c1', 'Groceries', 0.9, 'same payee', 'rejected',"
                         " '2026-01-01T00:00:00', '2026-01-01T00:00:00', NULL, 'engine', 0)")
    database.execute_sql("ALTER TABLE suggestion DROP COLUMN skip_reason")  # as a database made before 0005
    database.execute_sql("DELETE FROM schema_version WHERE version >= 5")
    assert "skip_reason" not in columns("suggestion")
    assert 5 in migrate()
    assert "skip_reason" in columns("suggestion")
    assert database.execute_sql("SELECT status, skip_reason FROM suggestion WHERE id = 's1'").fetchone() == (
        "rejected", None)
    assert migrate() == []
