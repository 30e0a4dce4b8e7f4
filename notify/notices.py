"""Decides which finished jobs to announce, and claims each one once across every worker and host."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Callable, Optional
from urllib.parse import urlencode

import peewee as pw

from core.clock import Clock, utcnow
from jobs.registry import JobRegistry
from models.db import write_transaction
from models.domain import Suggestion
from models.jobs import Job
from models.ops import JobNotice
from notify.sender import Message

log = logging.getLogger(__name__)

LOOKBACK = dt.timedelta(hours=1)  # jobs that ended longer ago are never announced (first start, long outages)


class JobNotices:
    """Turns jobs that ended into messages: failed for good, suggestions left by a scheduled run, success if asked."""

    def __init__(self, registry: JobRegistry, submit: Callable[[Message], None], *, notify_on: frozenset[str],
                 public_url: str, clock: Clock = utcnow) -> None:
        self.registry = registry
        self.submit = submit
        self.notify_on = notify_on
        self.public_url = public_url.rstrip("/")
        self.clock = clock

    def _wanted(self) -> Optional[pw.Expression]:
        terms = []
        if "failure" in self.notify_on:
            terms.append(Job.status == "failed")
        if "success" in self.notify_on:
            terms.append(Job.status == "succeeded")
        elif "suggestions" in self.notify_on:
            terms.append((Job.status == "succeeded") & (Job.trigger == "scheduled"))
        if not terms:
            return None
        expr = terms[0]
        for term in terms[1:]:
            expr = expr | term
        return expr

    def sweep(self) -> int:
        """Announce every job that ended within LOOKBACK and was not looked at yet; return the messages sent."""
        wanted = self._wanted()
        if wanted is None:
            return 0
        now = self.clock()
        seen = JobNotice.select(JobNotice.job_id).where(JobNotice.created_at >= now - 2 * LOOKBACK)
        candidates = list(Job.select().where(Job.completed_at >= now - LOOKBACK, wanted, Job.id.not_in(seen))
                          .order_by(Job.completed_at))
        sent = 0
        for job in candidates:
            if not self._claim(job.id, now):
                continue  # another worker took it
            message = self.message_for(job)
            if message is not None:
                self.submit(message)
                sent += 1
                log.info("job %s: notification queued: %s", job.id, message.title,
                         extra={"job_id": job.id, "budget_id": job.budget_id, "job_type": job.type})
        with write_transaction():
            JobNotice.delete().where(JobNotice.created_at < now - 2 * LOOKBACK).execute()
        return sent

    @staticmethod
    def _claim(job_id: str, now: dt.datetime) -> bool:
        with write_transaction():
            return JobNotice.insert(job_id=job_id, created_at=now).on_conflict_ignore().as_rowcount().execute() == 1

    def link(self, budget_id: str, job_id: Optional[str] = None) -> str:
        """The Job Center page for a budget (and a job), from PUBLIC_URL."""
        params = {"budget": budget_id} | ({"job": job_id} if job_id else {})
        return f"{self.public_url}/#{urlencode(params)}"

    def message_for(self, job: Job) -> Optional[Message]:
        """The message a job that ended calls for, or None."""
        label = self._label(job.type)
        if job.status == "failed" and "failure" in self.notify_on:
            return Message(f"budget-assist: {label} failed",
                           f"{label} for budget {job.budget_id} failed: {job.failure_reason or 'no reason given'}\n"
                           f"{self.link(job.budget_id, job.id)}", "failure")
        if job.status != "succeeded":
            return None
        if job.trigger == "scheduled" and "suggestions" in self.notify_on:
            waiting = Suggestion.select().where(Suggestion.budget_id == job.budget_id,
                                                Suggestion.status == "pending").count()
            if waiting:
                noun = "suggestion" if waiting == 1 else "suggestions"
                return Message(f"budget-assist: {waiting} {noun} to review",
                               f"The scheduled sync of budget {job.budget_id} left {waiting} {noun} waiting for "
                               f"review.\n{self.link(job.budget_id)}", "info")
        if "success" in self.notify_on:
            return Message(f"budget-assist: {label} succeeded",
                           f"{label} for budget {job.budget_id} succeeded.\n{self.link(job.budget_id, job.id)}",
                           "success")
        return None

    def _label(self, type_name: str) -> str:
        try:
            return self.registry.get(type_name).label
        except KeyError:
            return type_name
