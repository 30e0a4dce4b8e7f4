"""A job that reads the budget's local copy, on an Actual budget never synced here, says to sync first."""
from __future__ import annotations

import datetime as dt

import pytest

from core.config import Config
from models.domain import Budget
from models.jobs import Job, JobStep


@pytest.fixture()
def config(tmp_path):
    """An Actual server configured but never reached (port 9, discard): these steps read only the local copy."""
    return Config.from_env({"DATA_DIR": str(tmp_path / "data"), "HEARTBEAT_INTERVAL_SECONDS": "0.2",
                            "ACTUAL_SERVER_URL": "http://127.0.0.1:9", "ACTUAL_PASSWORD": "unused"})


def never_synced():
    return Budget.create(id="file-1", name="Household", connector="actual", seed=0, options={},
                         created_at=dt.datetime(2026, 11, 1, 9, 0)).id


@pytest.mark.parametrize("kind, again", [("suggestions_backtest", "“Check Suggestion Accuracy”"),
                                         ("suggestions_generate", "“Generate Suggestions”")])
def test_a_budget_never_synced_here_fails_at_once_saying_run_a_sync_first(services, orchestrator, kind, again):
    job_id = services.jobs.create(kind, never_synced()).job.id
    outcome = orchestrator.run(job_id)
    (step,) = JobStep.select().where(JobStep.job == job_id)
    assert outcome.status == "failed" and Job.get_by_id(job_id).status == "failed"  # not retried: nothing to wait for
    assert step.failure_reason == (
        "Budget 'Household' has not been synced here yet, so there is nothing to read: run a sync first "
        f"(“Sync Budget” or “Sync & Generate Suggestions”), then {again} again.")
