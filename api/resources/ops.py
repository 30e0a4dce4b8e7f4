"""Operations endpoints: GET /metrics, GET /api/workers and the health check."""
from __future__ import annotations

import hmac
import ipaddress
from typing import Optional

import falcon
from prometheus_client import CONTENT_TYPE_LATEST

from budget.service import BudgetService
from core.clock import isoformat
from jobs.sync_times import SyncSchedule
from jobs.workers import WorkerDirectory
from models.db import database
from ops.metrics import JobMetrics, metrics_registry, render


def is_loopback(address: Optional[str]) -> bool:
    """Whether a peer address is a loopback address."""
    try:
        return ipaddress.ip_address((address or "").strip("[]")).is_loopback
    except ValueError:
        return False


class MetricsAccess:
    """Who may read /metrics: a METRICS_TOKEN bearer token, a logged-in session or an API token; in the open
    loopback mode (no password, no METRICS_TOKEN) loopback peers only. The security middleware lets
    GET /metrics through so that a METRICS_TOKEN bearer, which is not an API token, reaches this check."""

    def __init__(self, token: Optional[str]) -> None:
        self.token = token

    def check(self, req: falcon.Request) -> None:
        """Raise 401 or 403 unless the request may read the metrics."""
        scheme, _, given = (req.get_header("Authorization") or "").partition(" ")
        if self.token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                                             self.token.encode()):
            return
        caller = getattr(req.context, "caller", None)
        if caller is not None and caller.via in ("session", "token"):
            return
        if self.token or caller is None:
            raise falcon.HTTPUnauthorized(description="GET /metrics needs 'Authorization: Bearer <METRICS_TOKEN>', "
                                                      "an API token or a session.",
                                          headers={"WWW-Authenticate": "Bearer"})
        if not is_loopback(req.remote_addr):
            raise falcon.HTTPForbidden(description="Without METRICS_TOKEN, /metrics answers loopback clients only.")


class MetricsResource:
    """GET /metrics: the Prometheus text format, every figure read from the database."""

    def __init__(self, collector: JobMetrics, access: MetricsAccess) -> None:
        self.registry = metrics_registry(collector)
        self.access = access

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.access.check(req)
        database.connect(reuse_if_open=True)
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = render(self.registry)


def worker_dict(row: dict) -> dict:
    """A worker row as JSON."""
    return {"id": row["id"], "host": row["host"], "pid": row["pid"], "startedAt": isoformat(row["started_at"]),
            "lastSeenAt": isoformat(row["last_seen_at"]), "runningJobId": row["running_job_id"],
            "runningJobs": row["running_jobs"], "alive": row["alive"]}


class WorkersResource:
    """GET /api/workers: the worker processes seen in the last day, and whether each is alive."""

    def __init__(self, workers: WorkerDirectory) -> None:
        self.workers = workers

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"workers": [worker_dict(w) for w in self.workers.list()]}


class ScheduleResource:
    """GET /api/schedule?budgetId=: the budget's last successful sync and when the next scheduled one is due."""

    def __init__(self, schedule: SyncSchedule, budgets: BudgetService) -> None:
        self.schedule = schedule
        self.budgets = budgets

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        budget = self.budgets.resolve(req.get_param("budgetId") or "")
        info = self.schedule.for_budget(budget.id)
        resp.media = {"budgetId": budget.id, "intervalMinutes": info["intervalMinutes"],
                      "lastSyncAt": isoformat(info["lastSyncAt"]), "nextSyncDueAt": isoformat(info["nextSyncDueAt"])}


class HealthResource:
    """GET /api/health: 200 while the database answers; `degraded` when jobs wait and no worker is alive."""

    def __init__(self, workers: WorkerDirectory) -> None:
        self.workers = workers

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        database.execute_sql("SELECT 1")
        resp.media = self.workers.health()
