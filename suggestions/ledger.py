"""What each apply job wrote to a budget (categories, note tags, rules), and how an undo takes it back.

Recorded when the apply writes, so "Undo Apply" restores exactly the previous categories and removes
exactly the rules that job created; a transaction changed since is left alone by the connector.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Optional

from budget.connector import Revert, RuleOutcome, RuleSpec
from core.clock import Clock, utcnow
from models.db import write_transaction
from models.domain import Suggestion
from models.review import AppliedChange, AppliedRule

RESTORED = "restored"


def rule_specs(approved: list[Suggestion]) -> tuple[list[RuleSpec], list[dict]]:
    """The rules the reviewer asked for (createRule), one per payee; payees asked for two categories are left out."""
    wanted: dict[tuple, dict[str, Suggestion]] = defaultdict(dict)
    for s in approved:
        if not s.create_rule:
            continue
        identity = ("payee", s.payee_id) if s.payee_id else ("imported", (s.payee_name or "").lower())
        wanted[identity][s.final_category_id] = s
    specs, conflicts = [], []
    for (kind, _), by_category in wanted.items():
        if len(by_category) > 1:
            s = next(iter(by_category.values()))
            conflicts.append({"payee": s.payee_name, "categories": sorted(x.final_category_name for x in by_category.values()),
                              "why": "approved with different categories in one apply"})
            continue
        s = next(iter(by_category.values()))
        specs.append(RuleSpec(payee_id=s.payee_id, payee_name=s.payee_name, category_id=s.final_category_id,
                              imported=kind == "imported"))
    return specs, conflicts


@dataclass
class RevertPlan:
    """What an undo of one apply job has left to take back."""

    changes: list[AppliedChange] = field(default_factory=list)
    rules: list[AppliedRule] = field(default_factory=list)

    def reverts(self) -> dict[str, Revert]:
        return {c.transaction_id: Revert(c.category_id, c.previous_category_id, c.note_tag) for c in self.changes}

    def rule_specs(self) -> dict[str, RuleSpec]:
        return {r.rule_id: RuleSpec(r.payee_id, r.payee_name, r.category_id, r.imported) for r in self.rules}

    def __bool__(self) -> bool:
        return bool(self.changes or self.rules)


class ApplyLedger:
    """Records applies and their undos."""

    def __init__(self, *, clock: Clock = utcnow) -> None:
        self.clock = clock

    def record_apply(self, budget_id: str, job_id: str, by_tx: dict[str, Suggestion], written: list[str],
                     previous: dict[str, Optional[str]], tagged: set[str], note_tag: str) -> int:
        """One row per transaction this job changed (a retried job records each once)."""
        now = self.clock()
        with write_transaction():
            known = {tx for (tx,) in AppliedChange.select(AppliedChange.transaction_id)
                     .where(AppliedChange.job_id == job_id).tuples()}
            rows = [{"budget_id": budget_id, "job_id": job_id, "suggestion_id": by_tx[tx].id, "transaction_id": tx,
                     "previous_category_id": previous.get(tx), "category_id": by_tx[tx].final_category_id,
                     "note_tag": note_tag if tx in tagged else "", "created_at": now}
                    for tx in written if tx in by_tx and tx not in known]
            for i in range(0, len(rows), 200):
                AppliedChange.insert_many(rows[i:i + 200]).execute()
        return len(rows)

    def forget(self, job_id: str, transaction_ids: list[str]) -> None:
        """Drop the records of transactions the apply did not write after all (skipped at the source)."""
        with write_transaction():
            for i in range(0, len(transaction_ids), 500):
                AppliedChange.delete().where(AppliedChange.job_id == job_id,
                                             AppliedChange.transaction_id.in_(transaction_ids[i:i + 500])).execute()

    def untagged(self, job_id: str) -> list[str]:
        """Transactions this job categorized whose notes it has not tagged yet."""
        return [tx for (tx,) in AppliedChange.select(AppliedChange.transaction_id)
                .where(AppliedChange.job_id == job_id, AppliedChange.note_tag == "").tuples()]

    def mark_tagged(self, job_id: str, transaction_ids: list[str], tag: str) -> None:
        """Remember the tag the apply appended, so the undo removes it."""
        with write_transaction():
            for i in range(0, len(transaction_ids), 500):
                AppliedChange.update(note_tag=tag).where(
                    AppliedChange.job_id == job_id, AppliedChange.transaction_id.in_(transaction_ids[i:i + 500])).execute()

    def record_rules(self, budget_id: str, job_id: str, outcomes: list[RuleOutcome], names: dict[str, str]) -> None:
        """Remember the rules this job created (reused identical rules are not ours to remove)."""
        now = self.clock()
        with write_transaction():
            known = {r for (r,) in AppliedRule.select(AppliedRule.rule_id).where(AppliedRule.job_id == job_id).tuples()}
            for o in outcomes:
                if o.created and o.rule_id not in known:
                    AppliedRule.create(budget_id=budget_id, job_id=job_id, rule_id=o.rule_id, payee_id=o.spec.payee_id,
                                       payee_name=o.spec.payee_name, imported=o.spec.imported,
                                       category_id=o.spec.category_id,
                                       category_name=names.get(o.spec.category_id, o.spec.category_id), created_at=now)

    def plan(self, apply_job_id: str) -> RevertPlan:
        """What the apply job wrote that no undo has taken back yet."""
        return RevertPlan(
            list(AppliedChange.select().where(AppliedChange.job_id == apply_job_id, AppliedChange.revert_job_id.is_null())
                 .order_by(AppliedChange.id)),
            list(AppliedRule.select().where(AppliedRule.job_id == apply_job_id, AppliedRule.revert_job_id.is_null())
                 .order_by(AppliedRule.id)))

    def has_applied(self, apply_job_id: str) -> bool:
        """Whether the job wrote anything (taken back or not)."""
        return (AppliedChange.select().where(AppliedChange.job_id == apply_job_id).exists()
                or AppliedRule.select().where(AppliedRule.job_id == apply_job_id).exists())

    def record_revert(self, plan: RevertPlan, revert_job_id: str, restored: list[str], skipped: dict[str, str],
                      rules: dict[str, str]) -> None:
        """Mark what the undo took back (restored suggestions are approved again) and why the rest was left."""
        now = self.clock()
        by_tx = {c.transaction_id: c for c in plan.changes}
        with write_transaction():
            for tx in restored:
                c = by_tx[tx]
                AppliedChange.update(revert_job_id=revert_job_id, revert_outcome=RESTORED).where(
                    AppliedChange.id == c.id).execute()
                Suggestion.update(status="approved", open=True, updated_at=now).where(
                    Suggestion.id == c.suggestion_id, Suggestion.status == "applied").execute()
            for tx, why in skipped.items():
                AppliedChange.update(revert_job_id=revert_job_id, revert_outcome=why[:200]).where(
                    AppliedChange.id == by_tx[tx].id).execute()
            for r in plan.rules:
                AppliedRule.update(revert_job_id=revert_job_id, revert_outcome=rules.get(r.rule_id, "unknown")[:200]).where(
                    AppliedRule.id == r.id).execute()


