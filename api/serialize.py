"""Jobs, steps and events as the API shows them (camelCase)."""
from __future__ import annotations

from typing import Any, Mapping

from core.clock import isoformat
from jobs.inputs import JobInput
from jobs.registry import JobRegistry, JobType, step_label, step_summary


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
        "result": d.get("result"), "summary": step_summary(d["step_type"], d.get("result")),
    }


def input_dict(job_input: JobInput) -> dict:
    """A job type's input as JSON: what the Job Center needs to offer it."""
    return {"name": job_input.name, "type": job_input.type, "required": job_input.required,
            "default": job_input.default, "label": job_input.label}


def job_type_dict(t: JobType) -> dict:
    """A job type as JSON, with its inputs and the labels of its steps."""
    return {"type": t.name, "label": t.label, "steps": list(t.steps), "stepLabels": [step_label(s) for s in t.steps],
            "kind": t.kind, "userStartable": t.user_startable, "primary": t.primary, "description": t.description,
            "inputs": [input_dict(i) for i in t.inputs] if t.user_startable else [],
            "maxAttempts": t.retry.attempts, "timeoutMinutes": t.timeout_minutes}


def event_dict(event: Any) -> dict:
    """An event as JSON."""
    d = _data(event)
    return {"id": d["id"], "jobId": d["job"], "stepId": d.get("step_id"), "status": d["status"],
            "message": d["message"], "createdAt": isoformat(d["created_at"])}
