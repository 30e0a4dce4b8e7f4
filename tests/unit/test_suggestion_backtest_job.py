"""The suggestions_backtest job: replays the budget's categorized history and reports accuracy beside last-category."""
from __future__ import annotations

import datetime as dt

from jobs.registry import step_label, step_summary
from models.jobs import JobEvent, JobStep
from suggestions.accuracy_report import report
from tests.unit.test_orchestrator import Ticking, make


def only_step(job_id):
    (step,) = JobStep.select().where(JobStep.job == job_id)
    return step


def test_the_backtest_job_replays_the_demo_history_and_beats_last_category(services, orchestrator):
    job_id = services.jobs.create("suggestions_backtest", "demo").job.id
    assert orchestrator.run(job_id).status == "succeeded"
    step = only_step(job_id)
    result = step.result
    assert step.step_type == "backtest" and step_label("backtest") == "Check suggestion accuracy"
    assert result["split"] == 0.7 and result["history"] > 2 * result["predicted"] > 0
    assert dt.date.fromisoformat(result["from"]) < dt.date.fromisoformat(result["cut"]) <= dt.date.fromisoformat(result["to"])
    engine, last = result["engines"]["engine"], result["engines"]["last_category"]
    for figures in (engine, last):
        assert figures["predicted"] == result["predicted"]
        assert set(figures) >= {"accuracy", "coverage", "unseen", "right", "suggested"}
        assert figures["unseen"]["predicted"] <= figures["predicted"]
    assert engine["accuracy"] > last["accuracy"]
    bands = result["engines"]["engine_all"]["reliability"]
    assert sum(b["suggested"] for b in bands) == result["engines"]["engine_all"]["suggested"]
    assert {(b["from"], b["to"]) for b in bands} >= {(0.5, 0.7), (0.7, 0.9), (0.9, 1.0)}
    accuracy, reliability = result["tables"]
    assert [row[0] for row in accuracy["rows"]] == ["budget-assist", "Last category used for this payee"]
    assert accuracy["rows"][0][1] == f"{engine['accuracy'] * 100:.1f} %"
    assert reliability["rows"] and all(len(row) == len(reliability["columns"]) for row in reliability["rows"])
    event = [e.message for e in JobEvent.select().where(JobEvent.job == job_id)]
    assert any(m.startswith("Step 'Check suggestion accuracy' succeeded: budget-assist ") for m in event)


def test_the_api_starts_the_backtest_and_returns_the_figures_and_tables_in_the_step_result(client, services, orchestrator):
    resp = client.simulate_post("/api/jobs/suggestions-backtest", json={"budgetId": "demo"})
    assert resp.status_code == 201, resp.text
    job_id = resp.json["job"]["id"]
    assert resp.json["job"]["type"] == "suggestions_backtest"
    orchestrator.run(job_id)
    (step,) = client.simulate_get(f"/api/jobs/{job_id}").json["steps"]
    assert step["label"] == "Check suggestion accuracy" and step["status"] == "succeeded"
    assert step["result"]["engines"]["engine"]["accuracy"] > 0
    assert [t["caption"] for t in step["result"]["tables"]][1] == "Does the confidence mean what it says?"
    assert step["summary"].startswith("budget-assist ") and "last category" in step["summary"]


def test_a_backtest_is_cancelled_at_its_next_progress_report(services):
    def cancel_then_backtest(ctx):
        svc.cancel(ctx.job_id)
        return services.steps.backtest(ctx)

    svc, orch = make(services, {"backtest": cancel_then_backtest}, monotonic=Ticking(0.6))
    job_id = svc.create("suggestions_backtest", "demo").job.id
    assert orch.run(job_id).status == "canceled"
    assert only_step(job_id).result is None


def test_a_budget_without_history_reports_no_figures_instead_of_failing(services):
    empty = report({"split": 0.7, "history": 0, "predicted": 0, "from": None, "cut": None, "to": None,
                    "minConfidence": 0.0, "engines": {
                        "engine": {"predicted": 0, "suggested": 0, "right": 0, "accuracy": None, "coverage": None,
                                   "unseen": {"predicted": 0, "suggested": 0, "right": 0, "accuracy": None},
                                   "reliability": []}}})
    assert empty["tables"][0]["rows"] == [["budget-assist", "–", "–", "–"]]
    assert step_summary("backtest", empty) == "budget-assist – right (– on new payees): 0 transactions replayed"


def test_the_engine_row_names_the_minimum_confidence_it_shows_suggestions_at():
    figures = {"accuracy": 0.5, "coverage": 0.5, "unseen": {"accuracy": 0.25}}
    result = report({"history": 10, "predicted": 4, "minConfidence": 0.6, "engines": {
        "engine": dict(figures, reliability=[]), "last_category": figures, "tfidf_svc": figures}})
    assert set(result["engines"]) == {"engine", "last_category"}
    assert result["tables"][0]["rows"][0] == ["budget-assist (shown at ≥ 0.6)", "50.0 %", "50.0 %", "25.0 %"]
