"""The Falcon app factory; gunicorn serves `api.app:get_app()`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import falcon

from api.errors import install_error_handlers
from api.etag import EtagMemo
from api.middleware import DatabaseConnection, RequestLog
from api.openapi import OpenAPIResource
from api.security import SecurityMiddleware
from api.resources.budgets import (
    BudgetCategoriesResource,
    BudgetResource,
    BudgetsResource,
    BudgetUncategorizedResource,
)
from api.resources.session import LoginPageResource, SessionResource, TokenResource, TokensResource
from api.resources.jobs import JobCancelResource, JobResource, JobsResource, JobTypesResource
from api.resources.ops import HealthResource, MetricsAccess, MetricsResource, ScheduleResource, WorkersResource
from api.resources.snapshots import BudgetSnapshotsResource, SnapshotFileResource
from api.resources.suggestions import SuggestionBulkReviewResource, SuggestionReviewResource, SuggestionsResource
from budget.snapshots import SnapshotQueries
from auth.policy import Gate, announce
from core.config import Config
from jobs.removal import BudgetRemoval
from jobs.submission import JobSubmission
from jobs.sync_times import SyncSchedule
from jobs.workers import WorkerDirectory
from models.db import change_marker
from ops.metrics import JobMetrics
from wiring.services import Services

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


class IndexResource:
    """GET /: the Job Center page."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header("Cache-Control", "no-cache")
        resp.data = (WEB_DIR / "index.html").read_bytes()


def create_app(services: Services, gate: Optional[Gate] = None) -> falcon.App:
    """A Falcon app over `services` (tests pass their own); refuses to build when the access rules forbid it."""
    if gate is None:
        gate = Gate(services.config)
        announce(gate.mode, services.config)
    app = falcon.App(middleware=[RequestLog(), DatabaseConnection(), SecurityMiddleware(services.config, gate)])
    app.req_options.strip_url_path_trailing_slash = True
    install_error_handlers(app)
    jobs, suggestions = services.jobs, services.suggestions
    submission = JobSubmission(jobs, services.budgets, suggestions)
    workers = WorkerDirectory(services.config.heartbeat_timeout_seconds)
    app.add_route("/api/health", HealthResource(workers))
    app.add_route("/api/workers", WorkersResource(workers))
    schedule = SyncSchedule(services.registry, services.config.sync_interval_minutes, jobs.clock)
    app.add_route("/api/schedule", ScheduleResource(schedule, services.budgets))
    app.add_route("/metrics", MetricsResource(JobMetrics(services.registry, workers),
                                              MetricsAccess(services.config.metrics_token)))
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
    app.add_route("/api/session", SessionResource(gate))
    app.add_route("/api/tokens", TokensResource(gate))
    app.add_route("/api/tokens/{token_id:int(min=1, max=2147483647)}", TokenResource(gate))
    if (WEB_DIR / "index.html").exists():
        app.add_route("/", IndexResource())
        app.add_route("/login", LoginPageResource(WEB_DIR / "login.html"))
        app.add_static_route("/static", str(WEB_DIR))
    return app


def get_app(config: Optional[Config] = None) -> falcon.App:
    """The app for this process's environment: migrates, seeds the demo budget, enqueues through Huey."""
    from tasks import process  # reads the environment, opens the queue, declares the tasks: only when serving

    if config is not None and config != process.config:
        raise ValueError("get_app() reads its configuration from the environment, as the worker does")
    return create_app(process.services())
