"""Migration 0007 leaves each job transition fewer index pages to write and keeps every row and query plan."""
from __future__ import annotations

from models.db import database
from models.migrate import migrate


def indexes(table):
    return {row[0]: row[1] for row in database.execute_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,))}


def plan(sql, params=()):
    return " ".join(row[-1] for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))


def test_a_new_database_has_no_duplicate_job_indexes_and_a_rowless_budget_lock(db):
    assert "job_event_job_id" not in indexes("job_event") and "job_event_job" in indexes("job_event")
    assert "job_step_job_id" not in indexes("job_step") and "job_step_position" in indexes("job_step")
    assert "WHERE completed_at IS NOT NULL" in indexes("job")["job_completed"]
    assert "WHERE completed_at IS NOT NULL" in indexes("job")["job_budget_status_completed"]
    table_sql = database.execute_sql("SELECT sql FROM sqlite_master WHERE name = 'budget_lock'").fetchone()[0]
    assert table_sql.endswith("WITHOUT ROWID")


def test_an_older_database_is_reshaped_and_keeps_its_locks(db):
    database.execute_sql("DROP TABLE budget_lock")  # as a database made before 0007
    database.execute_sql('CREATE TABLE budget_lock ("budget_id" VARCHAR(64) NOT NULL PRIMARY KEY, '
                         '"job_id" VARCHAR(36) NOT NULL, "expires_at" DATETIME NOT NULL)')
    database.execute_sql("INSERT INTO budget_lock VALUES ('demo', 'j1', '2026-01-01 00:00:00')")
    database.execute_sql('CREATE INDEX "job_event_job_id" ON "job_event" ("job_id")')
    database.execute_sql('CREATE INDEX "job_step_job_id" ON "job_step" ("job_id")')
    database.execute_sql("DROP INDEX job_completed")
    database.execute_sql("CREATE INDEX job_completed ON job (completed_at)")
    database.execute_sql("DELETE FROM schema_version WHERE version >= 7")
    assert 7 in migrate()
    assert "job_event_job_id" not in indexes("job_event") and "job_step_job_id" not in indexes("job_step")
    assert "WHERE completed_at IS NOT NULL" in indexes("job")["job_completed"]
    assert database.execute_sql("SELECT budget_id, job_id, expires_at FROM budget_lock").fetchall() == [
        ("demo", "j1", "2026-01-01 00:00:00")]
    assert migrate() == []


def test_the_queries_that_read_the_partial_indexes_still_seek_them(db):
    last_sync = plan("SELECT completed_at FROM job WHERE budget_id = ? AND status = 'succeeded' AND type IN (?) "
                     "AND completed_at IS NOT NULL ORDER BY completed_at DESC LIMIT 1", ("demo", "budget_sync"))
    finished = plan("SELECT type FROM job WHERE completed_at >= ? AND completed_at < ?", ("2026-01-01", "2026-01-02"))
    assert "USING INDEX job_budget_status_completed" in last_sync
    assert "USING INDEX job_completed" in finished
    assert "USING INDEX job_event_job" in plan("SELECT * FROM job_event WHERE job_id = ? ORDER BY id", ("j1",))
    assert "job_step_position" in plan("SELECT * FROM job_step WHERE job_id = ? ORDER BY position", ("j1",))
