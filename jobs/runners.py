"""Maps each step type to the budget or suggestion work it does, with a connector opened per step."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from budget.connector import ApplyResult, Connector, ConnectorError
from budget.factory import ConnectorFactory
from budget.operations import BudgetOperations, plural
from budget.service import BudgetService
from jobs.review_work import ReviewWork
from jobs import summaries
from jobs.steps import StepContext, StepOutcome, StepRunners
from suggestions.service import SuggestionService


class StepWork:
    """The step runners of the product's job types."""

    def __init__(self, budgets: BudgetService, connectors: ConnectorFactory, operations: BudgetOperations,
                 suggestions: SuggestionService, review: ReviewWork | None = None) -> None:
        self.budgets = budgets
        self.connectors = connectors
        self.operations = operations
        self.suggestions = suggestions
        self.review = review or ReviewWork()

    def runners(self) -> StepRunners:
        """step_type -> runner."""
        return {"sync": self.sync, "suggestions": self.generate, "apply": self.apply,
                "snapshot": self.snapshot, "redownload": self.redownload, "revert": self.revert,
                "backtest": self.backtest}

    @contextmanager
    def _connector(self, ctx: StepContext) -> Iterator[Connector]:
        """The budget's connector: one for all steps of a job run (what the sync read, the suggestions reuse)."""
        if ctx.scope is not None:
            yield ctx.scope.shared("connector", lambda: self.connectors.open(self.budgets.get(ctx.budget_id)))
            return
        connector = self.connectors.open(self.budgets.get(ctx.budget_id))
        try:
            yield connector
        finally:
            connector.close()

    @contextmanager
    def _reading_local_copy(self, ctx: StepContext, again: str) -> Iterator[None]:
        """Turns "no local copy" (an Actual budget never synced here) into what to do about it."""
        try:
            yield
        except ConnectorError as exc:
            if exc.code != "no_working_copy":
                raise
            name = self.budgets.get(ctx.budget_id).name
            raise ConnectorError(
                f"Budget '{name}' has not been synced here yet, so there is nothing to read: run a sync first "
                f"(“Sync Budget” or “Sync & Generate Suggestions”), then {again} again.", code="no_working_copy",
            ) from None

    def sync(self, ctx: StepContext) -> StepOutcome:
        with self._connector(ctx) as connector:
            full = bool(ctx.metadata.get("fullResync")) and ctx.job_type != "suggestions_apply"
            return StepOutcome(*self.operations.sync(connector, ctx.progress, full=full))

    def redownload(self, ctx: StepContext) -> StepOutcome:
        def drop_stale(connector: Connector) -> int:
            return self.suggestions.drop_stale(ctx.budget_id, connector)

        with self._connector(ctx) as connector:
            return StepOutcome(*self.operations.redownload(connector, ctx.progress, drop_stale))

    def snapshot(self, ctx: StepContext) -> StepOutcome:
        with self._connector(ctx) as connector:
            return StepOutcome(*self.operations.snapshot(ctx.budget_id, ctx.job_id, connector))

    def apply(self, ctx: StepContext) -> StepOutcome:
        approved = self.suggestions.approved(ctx.budget_id, ctx.metadata.get("suggestionIds"))
        by_tx = {s.transaction_id: s for s in approved}

        seen: list[ApplyResult] = []

        def record(outcome: ApplyResult) -> None:  # mark applied only what the budget accepted
            self.suggestions.mark_applied([by_tx[tx].id for tx in outcome.applied if tx in by_tx])
            self.suggestions.mark_skipped({by_tx[tx].id: why for tx, why in outcome.skipped.items() if tx in by_tx})
            seen.append(outcome)

        assignments = {s.transaction_id: s.final_category_id for s in approved}  # the reviewer's category
        with self._connector(ctx) as connector:
            self.review.before_apply(ctx, connector, by_tx, assignments)
            result, summary = self.operations.apply(connector, assignments, ctx.progress, record)
            outcome = seen[0] if seen else ApplyResult()
            return StepOutcome(*self.review.after_apply(ctx, connector, approved, outcome, result, summary))

    def revert(self, ctx: StepContext) -> StepOutcome:
        with self._connector(ctx) as connector:
            return self.review.revert(ctx, connector)

    def generate(self, ctx: StepContext) -> StepOutcome:
        payee_key = ctx.metadata.get("payeeKey")
        if payee_key is not None:
            self.suggestions.reset_payee_group(ctx.budget_id, payee_key)
        with self._reading_local_copy(ctx, "“Generate Suggestions”"), self._connector(ctx) as connector:
            result = self.suggestions.generate(ctx.budget_id, ctx.job_id, connector, ctx.progress, payee_key)
        summary = (f"{plural(result['suggested'], 'suggestion')}, {result['skipped']} skipped"
                   + summaries.held_back(result) + summaries.llm_note(result))
        return StepOutcome(result, summary)

    def backtest(self, ctx: StepContext) -> StepOutcome:
        with self._reading_local_copy(ctx, "“Check Suggestion Accuracy”"), self._connector(ctx) as connector:
            result = self.suggestions.backtest(connector, ctx.progress)
        return StepOutcome(result, summaries.backtest(result))
