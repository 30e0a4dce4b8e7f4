"""Review decisions on suggestions (chosen category, origin, rule wish) and what each apply wrote, for undo."""
from __future__ import annotations

import peewee as pw
from playhouse.migrate import SchemaMigrator, migrate

from models.review import AppliedChange, AppliedRule

COLUMNS = {
    "origin": pw.CharField(max_length=16, default="engine"),
    "category_id": pw.CharField(max_length=64, null=True),
    "category_name": pw.CharField(max_length=200, null=True),
    "create_rule": pw.BooleanField(default=False),
    "payee_id": pw.CharField(max_length=64, null=True),
    "account_id": pw.CharField(max_length=64, null=True),
}
INDEXES = [
    "CREATE INDEX IF NOT EXISTS applied_change_job ON applied_change (job_id, id)",
    "CREATE INDEX IF NOT EXISTS applied_change_transaction ON applied_change (budget_id, transaction_id)",
    "CREATE INDEX IF NOT EXISTS applied_rule_job ON applied_rule (job_id)",
    "CREATE INDEX IF NOT EXISTS applied_rule_payee ON applied_rule (budget_id, payee_name)",
    "CREATE INDEX IF NOT EXISTS suggestion_budget_transaction ON suggestion (budget_id, transaction_id, status)",
]


def up(db: pw.Database) -> None:
    """Add the review columns to suggestion and create the applied_change and applied_rule tables."""
    migrator = SchemaMigrator.from_database(db)
    have = {c.name for c in db.get_columns("suggestion")}  # 0001 builds tables from today's models
    migrate(*[migrator.add_column("suggestion", name, column) for name, column in COLUMNS.items() if name not in have])
    db.create_tables([AppliedChange, AppliedRule], safe=True)
    for statement in INDEXES:
        db.execute_sql(statement)
