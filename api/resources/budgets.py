"""Budget endpoints and the health check."""
from __future__ import annotations

import falcon

from api import validation as v
from budget.connector import ConnectorError
from budget.service import BudgetService, budget_dict
from core.errors import ValidationFailed
from jobs.removal import BudgetRemoval
from suggestions.review import ReviewService, category_groups


class BudgetsResource:
    """GET /api/budgets; POST /api/budgets adds a demo budget."""

    def __init__(self, budgets: BudgetService) -> None:
        self.budgets = budgets

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            rows = self.budgets.list()
            warning = None
        except ConnectorError as exc:  # the Actual server is down: still list the local budgets
            rows = [budget_dict(b) for b in self.budgets.local()]
            warning = exc.message
        resp.media = {"budgets": rows} | ({"warning": warning} if warning else {})

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = v.read_json(req)
        v.only_fields(body, {"name", "connector"})
        name = v.string(body, "name")
        if body.get("connector", "demo") != "demo":  # absent or "demo", as the OpenAPI document says (not null)
            raise ValidationFailed("connector must be \"demo\"; Actual budgets come from ACTUAL_SERVER_URL.",
                                   field="connector", code="invalid_value")
        budget = self.budgets.create_demo(name)
        resp.status = falcon.HTTP_201
        resp.location = f"/api/budgets/{budget.id}"
        resp.media = {"budget": budget_dict(budget)}


class BudgetResource:
    """DELETE /api/budgets/{id}: remove a budget deleted on its server (or a demo budget) from this service."""

    def __init__(self, removal: BudgetRemoval) -> None:
        self.removal = removal

    def on_delete(self, req: falcon.Request, resp: falcon.Response, budget_id: str) -> None:
        resp.media = self.removal.remove(budget_id)


class BudgetCategoriesResource:
    """GET /api/budgets/{id}/categories: the categories a reviewer can pick, grouped by category group."""

    def __init__(self, review: ReviewService) -> None:
        self.review = review

    def on_get(self, req: falcon.Request, resp: falcon.Response, budget_id: str) -> None:
        categories = self.review.categories(budget_id)
        resp.media = {"budgetId": budget_id, "groups": category_groups(categories),
                      "categories": [{"id": c.id, "name": c.name, "groupName": c.group_name} for c in categories]}


class BudgetUncategorizedResource:
    """GET /api/budgets/{id}/uncategorized: transactions without a category or suggestion, by payee, with why."""

    def __init__(self, review: ReviewService) -> None:
        self.review = review

    def on_get(self, req: falcon.Request, resp: falcon.Response, budget_id: str) -> None:
        resp.media = self.review.uncategorized(budget_id)
