"""Job endpoints: create by kind, list, detail, cancel, job types."""
from __future__ import annotations

import falcon

from api import validation as v
from api.etag import EtagMemo, make_etag, not_modified, render
from api.serialize import event_dict, job_dict, job_type_dict, step_dict
from jobs.queries import JobQueries
from jobs.service import JobService
from jobs.submission import JobSubmission
from models.jobs import JOB_STATUSES


class JobTypesResource:
    """GET /api/job-types."""

    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"jobTypes": [job_type_dict(t) for t in self.jobs.registry.all()]}


def list_etag(pairs: list[tuple], next_cursor: object) -> str:
    """The ETag of a job list page from its (id, updated_at) pairs and next cursor."""
    return make_etag([next_cursor] + [f"{job_id}:{updated}" for job_id, updated in pairs])


class JobsResource:
    """GET /api/jobs: newest first, filtered, with a cursor."""

    def __init__(self, jobs: JobQueries, memo: EtagMemo) -> None:
        self.jobs = jobs
        self.memo = memo

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.memo.answer(req, resp):
            return
        limit = v.query_int(req, "limit", 20, 1, 100)
        type_name = v.query_choice(req, "type", self.jobs.registry.names())
        status = v.query_choice(req, "status", JOB_STATUSES)
        query = dict(budget_id=req.get_param("budgetId") or None, type_name=type_name, status=status, limit=limit,
                     cursor=req.get_param("cursor") or None)
        if req.get_header("If-None-Match"):  # a poller: answer 304 from the cheap fingerprint when it can
            pairs, next_cursor = self.jobs.list_version(**query)
            etag = list_etag(pairs, next_cursor)
            self.memo.remember(req, etag)
            if not_modified(req, resp, etag):
                return
        rows, next_cursor = self.jobs.list(**query)
        etag = list_etag([(r["id"], r["updated_at"]) for r in rows], next_cursor)
        self.memo.remember(req, etag)
        if not_modified(req, resp, etag):
            return
        registry = self.jobs.registry
        body = render(resp, {"jobs": [job_dict(r, registry) for r in rows], "nextCursor": next_cursor})
        self.memo.remember(req, etag, body)


class JobResource:
    """GET /api/jobs/{id}; POST /api/jobs/{kind} creates a job of that kind."""

    def __init__(self, jobs: JobQueries, submission: JobSubmission, memo: EtagMemo) -> None:
        self.jobs = jobs
        self.submission = submission
        self.memo = memo

    def on_get(self, req: falcon.Request, resp: falcon.Response, ref: str) -> None:
        if self.memo.answer(req, resp):
            return
        version = self.jobs.version(ref)
        if version is None:
            self.jobs.get(ref)  # raises NotFound
        etag = make_etag((ref,) + tuple(version))
        self.memo.remember(req, etag)
        if not_modified(req, resp, etag):
            return
        job, steps, events = self.jobs.detail(ref)
        body = render(resp, {"job": job_dict(job, self.jobs.registry), "steps": [step_dict(s) for s in steps],
                             "events": [event_dict(e) for e in events]})
        self.memo.remember(req, etag, body)

    def on_post(self, req: falcon.Request, resp: falcon.Response, ref: str) -> None:
        body = v.read_json(req)
        values = v.job_inputs(body, self.submission.job_type(ref).inputs)
        created = self.submission.submit(ref, values, idempotency_key=v.idempotency_key(req), raw_body=body)
        media = {"job": job_dict(created.job, self.jobs.registry), "steps": [step_dict(s) for s in created.steps]}
        if created.created or created.replayed:
            resp.status = falcon.HTTP_201
        else:
            media["deduplicated"] = True
        resp.location = f"/api/jobs/{created.job.id}"
        resp.media = media


class JobCancelResource:
    """POST /api/jobs/{id}/cancel."""

    def __init__(self, jobs: JobService, queries: JobQueries) -> None:
        self.jobs = jobs
        self.queries = queries

    def on_post(self, req: falcon.Request, resp: falcon.Response, ref: str) -> None:
        job = self.jobs.cancel(ref)
        resp.media = {"job": job_dict(job, self.jobs.registry), "steps": [step_dict(s) for s in self.queries.steps(ref)]}
