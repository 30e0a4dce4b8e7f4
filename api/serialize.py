"""Jobs, steps and events as the API shows them (camelCase)."""
from __future__ import annotations

from typing import Any, Mapping

from core.clock import isoformat
from jobs.registry import JobRegistry
from jobs.service import step_label


def _data(row: Any) -> Mapping[str, Any]:
    return row if isinstance(row, dict) else row.__data__


def job_dict(row: Any, registry: JobRegistry) -> dict:
    """A job row (model or dict) as JSON."""
    d = _data(row)
    try:
        label = registry.get(d["type"]).label
    except KeyError:
        label = d["type"]
    return {
        "id": d["id"], "budgetId": d["budget_id"], "type": d["type"], "label": label, "status": d["status"],
        "trigger": d["trigger"], "createdAt": isoformat(d["created_at"]), "startedAt": isoformat(d.get("started_at")),
        "completedAt": isoformat(d.get("completed_at")), "updatedAt": isoformat(d["updated_at"]),
        "failureReason": d.get("failure_reason"), "parentJobId": d.get("parent_job_id"),
        "metadata": d.get("metadata") or {}, "attempt": d.get("attempt", 0), "maxAttempts": d.get("max_attempts", 1),
        "nextAttemptAt": isoformat(d.get("next_attempt_at")), "cancelRequested": bool(d.get("cancel_requested")),
    }


def step_dict(step: Any) -> dict:
    """A step as JSON."""
    d = _data(step)
    return {
        "id": d["id"], "jobId": d["job"], "stepType": d["step_type"], "label": step_label(d["step_type"]),
        "position": d["position"], "status": d["status"], "startedAt": isoformat(d.get("started_at")),
        "completedAt": isoformat(d.get("completed_at")), "failureReason": d.get("failure_reason"),
        "progressDone": d.get("progress_done") or 0, "progressTotal": d.get("progress_total"),
        "result": d.get("result"),
    }


def event_dict(event: Any) -> dict:
    """An event as JSON."""
    d = _data(event)
    return {"id": d["id"], "jobId": d["job"], "stepId": d.get("step_id"), "status": d["status"],
            "message": d["message"], "createdAt": isoformat(d["created_at"])}
