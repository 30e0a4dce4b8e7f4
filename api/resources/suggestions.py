"""Suggestion endpoints: list and review."""
from __future__ import annotations

import falcon

from api import validation as v
from models.domain import SUGGESTION_STATUSES
from suggestions.review import ReviewService
from suggestions.service import SuggestionService, suggestion_dict

REVIEW_STATUS = {"approve": "approved", "reject": "rejected"}


def approval(body: dict) -> dict:
    """The optional correction of an approval: {"categoryId", "createRule"} as keyword arguments."""
    create_rule = v.boolean(body, "createRule") if "createRule" in body else None
    return {"category_id": v.string(body, "categoryId", required=False, max_length=64), "create_rule": create_rule}


class SuggestionsResource:
    """GET /api/suggestions?budgetId=&status=; POST /api/suggestions categorizes a transaction by hand."""

    def __init__(self, suggestions: SuggestionService, review: ReviewService) -> None:
        self.suggestions = suggestions
        self.review = review

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        status = v.query_choice(req, "status", SUGGESTION_STATUSES)
        resp.media = {"suggestions": self.suggestions.list(req.get_param("budgetId") or None, status)}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = v.read_json(req)
        v.only_fields(body, {"budgetId", "transactionId", "categoryId", "createRule"})
        s = self.review.categorize(v.string(body, "budgetId", max_length=64), v.string(body, "transactionId", max_length=64),
                                   v.string(body, "categoryId", max_length=64), v.boolean(body, "createRule"))
        resp.status = falcon.HTTP_201
        resp.location = f"/api/suggestions/{s.id}"
        resp.media = {"suggestion": suggestion_dict(s)}


class SuggestionReviewResource:
    """POST /api/suggestions/{id}/approve (optional body {"categoryId", "createRule"}) and /reject."""

    def __init__(self, suggestions: SuggestionService, action: str, review: ReviewService) -> None:
        self.suggestions = suggestions
        self.status = REVIEW_STATUS[action]
        self.review = review

    def on_post(self, req: falcon.Request, resp: falcon.Response, suggestion_id: str) -> None:
        self.suggestions.get(suggestion_id)
        if self.status == "approved":
            body = v.read_json(req, allow_empty=True)
            v.only_fields(body, {"categoryId", "createRule"})
            (s,) = self.review.approve([suggestion_id], **approval(body))
        else:
            (s,) = self.suggestions.review([suggestion_id], self.status)
        resp.media = {"suggestion": suggestion_dict(s)}


class SuggestionBulkReviewResource:
    """POST /api/suggestions/approve ({"suggestionIds", "categoryId"?, "createRule"?}) and /reject (a payee group)."""

    def __init__(self, suggestions: SuggestionService, action: str, review: ReviewService) -> None:
        self.suggestions = suggestions
        self.status = REVIEW_STATUS[action]
        self.review = review

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = v.read_json(req)
        if self.status == "approved":
            v.only_fields(body, {"suggestionIds", "categoryId", "createRule"})
            rows = self.review.approve(v.string_list(body, "suggestionIds"), **approval(body))
        else:
            v.only_fields(body, {"suggestionIds"})
            rows = self.suggestions.review(v.string_list(body, "suggestionIds"), self.status)
        resp.media = {"suggestions": [suggestion_dict(s) for s in rows]}
