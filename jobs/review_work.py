"""The apply step's additions from the review (rules, note tag, a record for undo) and the undo step itself."""
from __future__ import annotations

from typing import Optional

from budget.connector import ApplyResult, Connector
from budget.operations import plural
from jobs.steps import StepContext, StepOutcome
from models.domain import Suggestion
from suggestions.ledger import ApplyLedger, rule_specs

LISTED = 50  # transactions or rules listed by name in a step result


class ReviewWork:
    """Teaches the budget the rules reviewers asked for, tags notes, records each apply and undoes it."""

    def __init__(self, ledger: Optional[ApplyLedger] = None, note_tag: str = "") -> None:
        self.ledger = ledger or ApplyLedger()
        self.note_tag = note_tag

    # --------------------------------------------------------------------- apply
    def before_apply(self, ctx: StepContext, connector: Connector, by_tx: dict[str, Suggestion],
                     assignments: dict[str, str]) -> None:
        """Record each transaction's category before the apply writes (once per job, so a retry keeps the first)."""
        previous = {t.id: t.category_id for t in connector.transactions() if t.id in assignments}
        intended = [tx for tx, cat in assignments.items() if tx in previous and previous[tx] != cat]
        self.ledger.record_apply(ctx.budget_id, ctx.job_id, by_tx, intended, previous, set(), "")

    def after_apply(self, ctx: StepContext, connector: Connector, approved: list[Suggestion], outcome: ApplyResult,
                    result: dict, summary: str) -> tuple[dict, str]:
        """Forget what was not written, tag the notes, create the rules asked for; the result lists the rules."""
        self.ledger.forget(ctx.job_id, list(outcome.skipped))
        if self.note_tag:
            ours = self.ledger.untagged(ctx.job_id)
            tagged = connector.tag_notes(ours, self.note_tag)
            self.ledger.mark_tagged(ctx.job_id, tagged + [tx for tx in ours if tx not in tagged and tx in outcome.applied],
                                    self.note_tag)
            result["noteTag"] = self.note_tag
            result["noteTagged"] = len(tagged)
        specs, conflicts = rule_specs(approved)
        outcomes = connector.create_rules(specs) if specs else []
        names = {s.final_category_id: s.final_category_name for s in approved}
        self.ledger.record_rules(ctx.budget_id, ctx.job_id, outcomes, names)
        result["rules"] = [{"ruleId": o.rule_id, "payeeName": o.spec.payee_name, "payeeId": o.spec.payee_id,
                            "imported": o.spec.imported, "categoryId": o.spec.category_id,
                            "categoryName": names.get(o.spec.category_id, o.spec.category_id), "created": o.created}
                           for o in outcomes][:LISTED]
        result["rulesCreated"] = sum(1 for o in outcomes if o.created)
        if conflicts:
            result["rulesNotCreated"] = conflicts[:LISTED]
        if outcomes:
            same = len(outcomes) - result["rulesCreated"]
            summary += f"; {plural(result['rulesCreated'], 'rule')} created" + (f", {same} already there" if same else "")
        return result, summary

    # ---------------------------------------------------------------------- undo
    def revert(self, ctx: StepContext, connector: Connector) -> StepOutcome:
        """Restore the categories the apply job wrote and remove its rules; anything changed since is left alone."""
        apply_job_id = ctx.metadata["applyJobId"]
        plan = self.ledger.plan(apply_job_id)
        outcome = connector.revert_categories(plan.reverts(), ctx.progress) if plan.changes else ApplyResult()
        rules = connector.delete_rules(plan.rule_specs()) if plan.rules else {}
        self.ledger.record_revert(plan, ctx.job_id, outcome.applied, outcome.skipped, rules)
        removed = sum(1 for why in rules.values() if why == "removed")
        result = {"applyJobId": apply_job_id, "restored": len(outcome.applied), "leftAlone": len(outcome.skipped),
                  "leftAloneTransactions": dict(list(outcome.skipped.items())[:LISTED]),
                  "rulesRemoved": removed,
                  "rules": [{"ruleId": r.rule_id, "payeeName": r.payee_name, "categoryName": r.category_name,
                             "outcome": rules.get(r.rule_id, "")} for r in plan.rules][:LISTED]}
        summary = (f"{plural(len(outcome.applied), 'category', 'categories')} restored, "
                   f"{len(outcome.skipped)} left alone; {plural(removed, 'rule')} removed")
        return StepOutcome(result, summary)
