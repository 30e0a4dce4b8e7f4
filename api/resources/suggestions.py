"""Suggestion endpoints: list and review."""
from __future__ import annotations

import falcon

from api import validation as v
from models.domain import SUGGESTION_STATUSES
from suggestions.service import SuggestionService, suggestion_dict

REVIEW_STATUS = {"approve": "approved", "reject": "rejected"}


class SuggestionsResource:
    """GET /api/suggestions?budgetId=&status=."""

    def __init__(self, suggestions: SuggestionService) -> None:
        self.suggestions = suggestions

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        status = v.query_choice(req, "status", SUGGESTION_STATUSES)
        resp.media = {"suggestions": self.suggestions.list(req.get_param("budgetId") or None, status)}


class SuggestionReviewResource:
    """POST /api/suggestions/{id}/approve and /reject."""

    def __init__(self, suggestions: SuggestionService, action: str) -> None:
        self.suggestions = suggestions
        self.status = REVIEW_STATUS[action]

    def on_post(self, req: falcon.Request, resp: falcon.Response, suggestion_id: str) -> None:
        self.suggestions.get(suggestion_id)
        (s,) = self.suggestions.review([suggestion_id], self.status)
        resp.media = {"suggestion": suggestion_dict(s)}


class SuggestionBulkReviewResource:
    """POST /api/suggestions/approve and /reject with {"suggestionIds": [...]} (a payee group)."""

    def __init__(self, suggestions: SuggestionService, action: str) -> None:
        self.suggestions = suggestions
        self.status = REVIEW_STATUS[action]

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = v.read_json(req)
        v.only_fields(body, {"suggestionIds"})
        rows = self.suggestions.review(v.string_list(body, "suggestionIds"), self.status)
        resp.media = {"suggestions": [suggestion_dict(s) for s in rows]}
