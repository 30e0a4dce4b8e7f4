"""Removes a budget from this service: its suggestions and working copy go; the budget's server is never touched."""
from __future__ import annotations

import logging
import shutil

from budget.factory import ConnectorFactory
from budget.service import BudgetService, budget_dict
from core.errors import InvalidTransition
from models.db import write_transaction
from models.jobs import BudgetLock, Job
from suggestions.service import SuggestionService

log = logging.getLogger(__name__)


class BudgetRemoval:
    """DELETE /api/budgets/{id}: a demo budget a user added, or an Actual budget deleted on its server."""

    def __init__(self, budgets: BudgetService, suggestions: SuggestionService, connectors: ConnectorFactory) -> None:
        self.budgets = budgets
        self.suggestions = suggestions
        self.connectors = connectors

    def remove(self, budget_id: str) -> dict:
        """Forget the budget here, unless a job of it is queued or running (409); what was removed."""
        budget = self.budgets.check_removable(budget_id)
        with write_transaction():
            active = (Job.select(Job.id, Job.status, Job.type)
                      .where(Job.budget_id == budget_id, Job.active == True).first())  # noqa: E712
            if active is not None:
                raise InvalidTransition(f"A job of this budget is {active.status} ({active.id[:8]}); cancel it or let "
                                        "it finish, then remove the budget.", code="budget_busy")
            dropped = self.suggestions.drop_budget(budget_id)
            BudgetLock.delete().where(BudgetLock.budget_id == budget_id).execute()  # only an expired one can be left
            self.budgets.forget(budget_id)
        folder = self.connectors.working_copy(budget)
        shutil.rmtree(folder, ignore_errors=True)  # after the commit: a failed removal keeps the files
        removed = not folder.exists()
        log.info("budget %s removed here: %s suggestions dropped, working copy %s", budget_id, dropped,
                 "deleted" if removed else "could not be deleted")
        return {"budget": budget_dict(budget), "droppedSuggestions": dropped, "workingCopyRemoved": removed}
