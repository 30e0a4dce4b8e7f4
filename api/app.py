"""The Falcon app factory; gunicorn serves `api.app:get_app()`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import falcon

from api.errors import install_error_handlers
from api.etag import EtagMemo
from api.middleware import DatabaseConnection, RequestLog
from api.openapi import OpenAPIResource
from api.resources.budgets import (
    BudgetCategoriesResource,
    BudgetResource,
    BudgetsResource,
    BudgetUncategorizedResource,
    HealthResource,
)
from api.resources.jobs import JobCancelResource, JobResource, JobsResource, JobTypesResource
from api.resources.snapshots import BudgetSnapshotsResource, SnapshotFileResource
from api.resources.suggestions import SuggestionBulkReviewResource, SuggestionReviewResource, SuggestionsResource
from budget.snapshots import SnapshotQueries
from core.config import Config
from jobs.removal import BudgetRemoval
from jobs.submission import JobSubmission
from models.db import change_marker
from wiring.services import Services

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


class IndexResource:
    """GET /: the Job Center page."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header("Cache-Control", "no-cache")
        resp.data = (WEB_DIR / "index.html").read_bytes()


def create_app(services: Services) -> falcon.App:
    """A Falcon app over `services` (tests pass their own)."""
    app = falcon.App(middleware=[RequestLog(), DatabaseConnection()])
    app.req_options.strip_url_path_trailing_slash = True
    install_error_handlers(app)
    jobs, suggestions = services.jobs, services.suggestions
    submission = JobSubmission(jobs, services.budgets, suggestions)
    app.add_route("/api/health", HealthResource())
    app.add_route("/api/budgets", BudgetsResource(services.budgets))
    snapshots = SnapshotQueries(services.config.data_dir / "snapshots", services.budgets)
    app.add_route("/api/budgets/{budget_id}/snapshots", BudgetSnapshotsResource(snapshots, services.registry))
    app.add_route("/api/snapshots/{snapshot_id}/file", SnapshotFileResource(snapshots))
    app.add_route("/api/budgets/{budget_id}",
                  BudgetResource(BudgetRemoval(services.budgets, suggestions, services.connectors)))
    app.add_route("/api/budgets/{budget_id}/categories", BudgetCategoriesResource(services.review))
    app.add_route("/api/budgets/{budget_id}/uncategorized", BudgetUncategorizedResource(services.review))
    app.add_route("/api/job-types", JobTypesResource(jobs))
    memo = EtagMemo(change_marker)
    app.add_route("/api/jobs", JobsResource(services.job_queries, memo))
    app.add_route("/api/jobs/{ref}", JobResource(services.job_queries, submission, memo))
    app.add_route("/api/jobs/{ref}/cancel", JobCancelResource(jobs, services.job_queries))
    app.add_route("/api/suggestions", SuggestionsResource(suggestions, services.review))
    for action in ("approve", "reject"):
        app.add_route(f"/api/suggestions/{action}", SuggestionBulkReviewResource(suggestions, action, services.review))
        app.add_route(f"/api/suggestions/{{suggestion_id}}/{action}",
                      SuggestionReviewResource(suggestions, action, services.review))
    app.add_route("/api/openapi.json", OpenAPIResource())
    if (WEB_DIR / "index.html").exists():
        app.add_route("/", IndexResource())
        app.add_static_route("/static", str(WEB_DIR))
    return app


def get_app(config: Optional[Config] = None) -> falcon.App:
    """The app for this process's environment: migrates, seeds the demo budget, enqueues through Huey."""
    from tasks import process  # reads the environment, opens the queue, declares the tasks: only when serving

    if config is not None and config != process.config:
        raise ValueError("get_app() reads its configuration from the environment, as the worker does")
    return create_app(process.services())
