"""The admin command's actions: each opens the database and the queue and calls one service."""
from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Optional, Protocol

from peewee import fn

from api.serialize import event_dict, job_dict, step_dict
from budget.connector import ConnectorError
from cli.output import as_json, table
from core.clock import utcnow
from core.config import Config
from core.errors import InvalidTransition, ServiceError
from core.logs import configure_logging
from core.redact import register_secrets
from jobs.registry import JobRegistry
from jobs.retention import purge_old_jobs
from jobs.submission import JobSubmission
from jobs.sync_times import last_successful_syncs, next_sync_due, sync_types
from jobs.workers import WorkerDirectory
from models.db import database
from models.domain import Suggestion
from models.jobs import Job
from models.migrate import pending

JOB_COLUMNS = [("id", "ID"), ("type", "TYPE"), ("budget_id", "BUDGET"), ("status", "STATUS"),
               ("trigger", "TRIGGER"), ("created_at", "CREATED (UTC)"), ("completed_at", "ENDED (UTC)"),
               ("failure_reason", "REASON")]


class Services(Protocol):
    """What the commands use of the process's services (wiring.services.Services)."""

    config: Config
    registry: JobRegistry
    jobs: Any
    job_queries: Any
    budgets: Any
    suggestions: Any


def rerun_kind(job: Job, registry: JobRegistry) -> Optional[str]:
    """The kind that starts `job` again: its own, or that of the user-startable type with the same steps."""
    job_type = registry.get(job.type)
    if job_type.kind:
        return job_type.kind
    same = [t for t in registry.all() if t.kind and t.steps == job_type.steps]
    return same[0].kind if same else None


def _submit(services: Services, kind: str, body: dict) -> Any:
    """Start `kind` from a request body, checked like POST /api/jobs/{kind} checks it."""
    from api.validation import job_inputs

    submission = JobSubmission(services.jobs, services.budgets, services.suggestions)
    values = job_inputs(body, submission.job_type(kind).inputs)
    return submission.submit(kind, values, raw_body=body)


def start_body(args: argparse.Namespace, services: Services) -> dict:
    """The request body of `jobs start`: --budget, the shortcuts, then each --input NAME=VALUE (JSON or text)."""
    import json

    from jobs.inputs import JobInput

    declared: dict[str, JobInput] = {}
    try:
        declared = {i.name: i for i in services.registry.by_kind(args.kind).inputs}
    except KeyError:
        pass  # submit answers "No job kind"
    body: dict[str, Any] = {"budgetId": args.budget_id}
    if args.full_resync:
        body["fullResync"] = True
    for given in args.suggestion_ids or []:
        ids = [i for i in declared.values() if i.type == "ids"]
        if ids:
            body.setdefault(ids[0].name, []).append(given)
        else:
            body["suggestionId"] = given
    for item in args.inputs or []:
        name, _, raw = item.partition("=")
        try:
            body[name] = json.loads(raw)
        except ValueError:
            body[name] = raw
    return body


def _print_job(services: Services, job_id: str, as_json_out: bool) -> None:
    job, steps, events = services.job_queries.detail(job_id)
    registry = services.registry
    if as_json_out:
        as_json({"job": job_dict(job, registry), "steps": [step_dict(s) for s in steps],
                 "events": [event_dict(e) for e in events]})
        return
    table([job], JOB_COLUMNS)
    print()
    table(steps, [("position", "#"), ("step_type", "STEP"), ("status", "STATUS"), ("started_at", "STARTED"),
                  ("completed_at", "ENDED"), ("failure_reason", "REASON")])
    print()
    table(events, [("created_at", "AT (UTC)"), ("status", "STATUS"), ("message", "EVENT")])


def jobs_command(args: argparse.Namespace, services: Services) -> int:
    """jobs list | show | cancel | retry | start."""
    registry = services.registry
    if args.action == "list":
        if args.type_name and args.type_name not in registry.names():
            print(f"unknown job type {args.type_name!r}; one of: {', '.join(registry.names())}", file=sys.stderr)
            return 2
        rows, cursor = services.job_queries.list(budget_id=args.budget_id, type_name=args.type_name, status=args.status,
                                          limit=max(1, min(args.limit, 1000)), cursor=args.cursor)
        if args.json:
            as_json({"jobs": [job_dict(r, registry) for r in rows], "nextCursor": cursor})
        else:
            table(rows, JOB_COLUMNS)
            if cursor:
                print(f"more: budget-assist jobs list --cursor {cursor}")
        return 0
    if args.action == "show":
        _print_job(services, args.job_id, args.json)
        return 0
    if args.action == "cancel":
        job = services.jobs.cancel(args.job_id)
        _done(args, {"job": job_dict(job, registry)}, f"job {job.id}: " + (
            "canceled" if job.status == "canceled" else "cancel requested; it stops at its next checkpoint"))
        return 0
    if args.action == "retry":
        job = services.job_queries.get(args.job_id)
        if job.status in ("queued", "running"):
            raise InvalidTransition(f"Job {job.id} is still {job.status}; only a finished job can be retried.")
        kind = rerun_kind(job, registry)
        if kind is None:
            raise InvalidTransition(f"Jobs of type {job.type} cannot be started by hand.")
        meta = job.metadata or {}
        body = {"budgetId": job.budget_id}
        body.update({i.name: meta[i.name] for i in registry.by_kind(kind).inputs
                     if i.name != "budgetId" and meta.get(i.name) is not None})
        return _created(args, _submit(services, kind, body), registry)
    return _created(args, _submit(services, args.kind, start_body(args, services)), registry)


def _created(args: argparse.Namespace, created: Any, registry: JobRegistry) -> int:
    job = created.job
    text = (f"job {job.id} queued ({job.type} for budget {job.budget_id})" if created.created else
            f"job {job.id} is already {job.status} for this budget; not started twice")
    _done(args, {"job": job_dict(job, registry), "created": created.created}, text)
    return 0


def _done(args: argparse.Namespace, data: dict, text: str) -> None:
    if args.json:
        as_json(data)
    else:
        print(text)


def budgets_command(args: argparse.Namespace, services: Services) -> int:
    """budgets: each with its last successful sync, next scheduled sync and pending suggestions."""
    warning = None
    try:
        rows = services.budgets.list()
    except ConnectorError as exc:  # the Actual server is down: still list the local budgets
        from budget.service import budget_dict

        rows = [budget_dict(b) for b in services.budgets.local()]
        warning = exc.message
    last_syncs = last_successful_syncs(sync_types(services.registry))
    now = utcnow()
    pending_counts = dict(Suggestion.select(Suggestion.budget_id, fn.COUNT(Suggestion.id))
                          .where(Suggestion.status == "pending").group_by(Suggestion.budget_id).tuples())
    for row in rows:
        last = last_syncs.get(row["id"])
        due = next_sync_due(last, services.config.sync_interval_minutes, now)
        row.update(lastSyncAt=last, nextSyncDueAt=max(due, now) if due else None,
                   pendingSuggestions=pending_counts.get(row["id"], 0))
    if args.json:
        as_json({"budgets": rows} | ({"warning": warning} if warning else {}))
    else:
        table(rows, [("id", "ID"), ("name", "NAME"), ("connector", "CONNECTOR"), ("lastSyncAt", "LAST SYNC (UTC)"),
                     ("nextSyncDueAt", "NEXT SCHEDULED (UTC)"), ("pendingSuggestions", "PENDING")])
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    return 0


def workers_command(args: argparse.Namespace, services: Services) -> int:
    """workers: every worker process seen in the last day."""
    rows = WorkerDirectory(services.config.heartbeat_timeout_seconds).list()
    if args.json:
        from api.resources.ops import worker_dict

        as_json({"workers": [worker_dict(w) for w in rows]})
    else:
        table(rows, [("id", "WORKER"), ("alive", "ALIVE"), ("started_at", "STARTED (UTC)"),
                     ("last_seen_at", "LAST SEEN (UTC)"), ("running_job_id", "RUNNING JOB")])
    return 0


def run(args: argparse.Namespace, config: Config, *, open_services: Callable[[Config], Services],
        prepare: Callable[[Config], None], verbose: bool = False) -> int:
    """Open the database and queue, run the command, print a service error as one line."""
    register_secrets(config.secrets())
    if args.command == "migrate":
        prepare(config)
        if not verbose:
            configure_logging("WARNING", config.log_format)
        _done(args, {"dataDir": str(config.data_dir), "pending": pending()},
              f"database ready in {config.data_dir}")
        return 0
    configure_logging("DEBUG" if verbose else "WARNING", config.log_format)
    services = open_services(config)
    try:
        behind = pending()
        if behind:
            print(f"budget-assist: the database needs migration {behind[0]:04d}: run `budget-assist migrate`",
                  file=sys.stderr)
            return 1
        if args.command == "jobs":
            return jobs_command(args, services)
        if args.command == "budgets":
            return budgets_command(args, services)
        if args.command == "workers":
            return workers_command(args, services)
        if args.command == "purge":
            deleted = purge_old_jobs(args.days)
            _done(args, {"deleted": deleted}, f"deleted {deleted} finished jobs older than {args.days} days")
            return 0
        raise AssertionError(f"unhandled command {args.command}")
    except ServiceError as exc:
        print(f"budget-assist: {exc.message}", file=sys.stderr)
        return 1
    finally:
        database.close()
