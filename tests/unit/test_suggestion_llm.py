"""The optional LLM for cold starts, against a real chat-completions server on loopback (tests/support/llm_server.py)."""
from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from budget.connector import Category, Transaction
from core.config import Config
from core.redact import redact, register_secrets
from jobs.orchestrator import JobOrchestrator
from models.domain import Suggestion
from models.jobs import JobEvent, JobStep
from suggestions.engine import SuggestionEngine
from suggestions.llm import LlmAdvisor, LlmClient
from tests.support.llm_server import LlmServer, by_keywords, closed_port_url, enum_of, prompt_of
from wiring.services import build_services

KEY = "sk-test-llm-key-5f3b9c"
CATEGORIES = [Category(f"c-{n.lower()}", n, "G") for n in ("Groceries", "Coffee", "Fuel", "Parking", "Haircut")]
CAT = {c.name: c.id for c in CATEGORIES}
D0 = dt.date(2025, 1, 1)


def tx(i: int, payee: str, category: str | None, day: int = 0, amount: int = -1500) -> Transaction:
    return Transaction(f"t{i}", "acct", "Visa", None, payee, D0 + dt.timedelta(days=day), amount,
                       CAT[category] if category else None)


HISTORY = [tx(i, p, c, day=i) for i, (p, c) in enumerate(
    [("SAFEWAY #1234", "Groceries"), ("STARBUCKS STORE 0412", "Coffee"), ("SHELL OIL 5555", "Fuel")] * 4)]
TARGETS = [tx(100 + i, p, None, day=60 + i) for i, p in enumerate(
    ["ZEN NAIL SPA 0412", "ZEN NAIL SPA 0412", "ZEN NAIL SPA 0777", "PARKMOBILE 123456", "PARKMOBILE 654321",
     "LUCKY #123"])]
TRUTH = {"zen nail spa": "Haircut", "parkmobile": "Parking", "lucky": "Groceries"}


@pytest.fixture()
def server():
    s = LlmServer(answer=by_keywords({"ZEN NAIL": "Haircut", "PARKMOBILE": "Parking", "LUCKY": "Groceries"})).start()
    yield s
    s.stop()


def engine_for(base_url: str, max_calls: int = 10) -> SuggestionEngine:
    return SuggestionEngine(llm=LlmAdvisor(LlmClient(base_url, "test-model", KEY, timeout=5), max_calls))


def test_a_cold_start_budget_asks_once_per_payee_group_constrained_to_its_category_names(server):
    result = engine_for(server.base_url).propose(HISTORY, TARGETS, CATEGORIES)
    assert len(server.requests) == 3  # three payee groups, six transactions
    for r in server.requests:
        assert r.path == "/v1/chat/completions" and r.body["model"] == "test-model"
        assert enum_of(r.body) == [c.name for c in CATEGORIES]
        assert r.body["response_format"]["type"] == "json_schema"
        assert r.headers["Authorization"] == f"Bearer {KEY}"
    assert sorted(prompt_of(r.body).split("'")[1] for r in server.requests) == ["lucky", "parkmobile", "zen nail spa"]
    by_tx = {p.transaction_id: p for p in result.proposals}
    assert set(by_tx) == {t.id for t in TARGETS}
    names = {c.id: c.name for c in CATEGORIES}
    for t in TARGETS:
        p = by_tx[t.id]
        assert p.source == "llm" and p.confidence == 0.5
        assert names[p.category_id] == next(v for k, v in TRUTH.items() if t.payee_name.lower().startswith(k))
        assert p.rationale.startswith("Suggested by the language model test-model from the payee name ")
        assert KEY not in p.rationale
    assert result.llm == {"asked": 3, "answered": 3, "rejected": 0, "notAsked": 0, "note": None}


def test_an_answer_naming_a_category_the_budget_does_not_have_is_rejected(server):
    server.answer = lambda body: "Lottery Winnings"
    local = SuggestionEngine().propose(HISTORY, TARGETS, CATEGORIES)
    result = engine_for(server.base_url).propose(HISTORY, TARGETS, CATEGORIES)
    assert len(server.requests) == 3
    assert result.llm["rejected"] == 3 and result.llm["answered"] == 0
    assert all(p.source != "llm" for p in result.proposals)
    assert [(p.transaction_id, p.category_id) for p in result.proposals] == [
        (p.transaction_id, p.category_id) for p in local.proposals]


def test_an_unreachable_endpoint_degrades_to_local_suggestions_with_one_note():
    url = closed_port_url()
    local = SuggestionEngine().propose(HISTORY, TARGETS, CATEGORIES)
    result = engine_for(url).propose(HISTORY, TARGETS, CATEGORIES)
    assert result.llm["asked"] == 1 and result.llm["notAsked"] == 2  # the first failure ends the asking
    assert result.llm["note"].startswith(f"The language model at {url} could not be reached")
    assert result.llm["note"].endswith("local suggestions only")
    assert result.proposals == local.proposals


def test_an_endpoint_answering_an_error_status_degrades_the_same_way(server):
    server.status = 503
    result = engine_for(server.base_url).propose(HISTORY, TARGETS, CATEGORIES)
    assert len(server.requests) == 1 and "HTTP 503" in result.llm["note"]


def test_llm_max_calls_per_job_caps_the_requests(server):
    result = engine_for(server.base_url, max_calls=2).propose(HISTORY, TARGETS, CATEGORIES)
    assert len(server.requests) == 2
    assert result.llm["asked"] == 2 and result.llm["notAsked"] == 1
    assert sum(p.source == "llm" for p in result.proposals) == 5  # the two largest groups: 3 + 2 transactions


def test_payees_the_budget_places_confidently_are_never_sent(server):
    history = [tx(i, p, c, day=i % 300) for i, (p, c) in enumerate(
        [("STARBUCKS STORE 0412", "Coffee"), ("SHELL OIL 5555", "Fuel")] * 40)]
    targets = [tx(500 + i, p, None, day=320) for i, p in enumerate(["STARBUCKS STORE 0412", "SHELL OIL 5555"] * 3)]
    result = engine_for(server.base_url).propose(history, targets, CATEGORIES)
    assert server.requests == [] and result.llm["asked"] == 0
    assert all(p.source == "vote" for p in result.proposals)


def test_the_llm_is_off_by_default_and_its_key_is_a_secret():
    off = Config.from_env({"DATA_DIR": "/tmp/x"})
    assert not off.llm_enabled and off.llm_base_url is None
    on = Config.from_env({"DATA_DIR": "/tmp/x", "LLM_BASE_URL": "http://127.0.0.1:9/v1/", "LLM_MODEL": "m",
                          "LLM_API_KEY": KEY, "LLM_MAX_CALLS_PER_JOB": "3"})
    assert on.llm_enabled and on.llm_base_url == "http://127.0.0.1:9/v1" and on.llm_max_calls_per_job == 3
    assert KEY in on.secrets() and KEY not in repr(on)


# ------------------------------------------------------------------ through a job
def run_sync_and_suggest(tmp_path, db, queue, base_url):
    config = Config.from_env({"DATA_DIR": str(tmp_path / "llm"), "LLM_BASE_URL": base_url, "LLM_MODEL": "test-model",
                              "LLM_API_KEY": KEY, "LLM_MAX_CALLS_PER_JOB": "4"})
    register_secrets(config.secrets())
    services = build_services(config, queue)
    services.budgets.ensure_demo()
    orchestrator = JobOrchestrator(services.jobs, services.steps.runners(), worker="test:1", heartbeat_seconds=0.2)
    orchestrator.run(services.jobs.create("budget_sync", "demo").job.id)
    job_id = services.jobs.create("sync_and_suggest", "demo").job.id
    assert orchestrator.run(job_id).status == "succeeded"
    step = JobStep.get((JobStep.job == job_id) & (JobStep.step_type == "suggestions"))
    events = [e.message for e in JobEvent.select().where(JobEvent.job == job_id)]
    return step.result, events


def test_a_job_asks_the_llm_about_unsure_payees_and_never_shows_the_key(tmp_path, db, queue, server, caplog):
    caplog.set_level(logging.DEBUG)
    result, events = run_sync_and_suggest(tmp_path, db, queue, server.base_url)
    llm = result["llm"]
    assert 0 < llm["asked"] <= 4 and llm["asked"] == len(server.requests)
    assert llm["answered"] == llm["asked"] and llm["note"] is None
    assert any("the language model placed" in m for m in events)
    rows = list(Suggestion.select().where(Suggestion.rationale.startswith("Suggested by the language model")))
    assert rows
    everything = json.dumps(result) + "\n".join(events) + caplog.text + "".join(
        f"{s.rationale}{s.payee_name}{s.proposed_category_name}" for s in Suggestion.select())
    assert KEY not in everything
    assert redact(f"Bearer {KEY}") == "Bearer ***"


def test_a_job_with_an_unreachable_llm_succeeds_with_local_suggestions_and_one_note(tmp_path, db, queue, caplog):
    url = closed_port_url()
    result, events = run_sync_and_suggest(tmp_path, db, queue, url)
    assert result["suggested"] > 0 and result["llm"]["asked"] == 1
    notes = [m for m in events if "could not be reached" in m]
    assert len(notes) == 1 and "local suggestions only" in notes[0]
    assert not Suggestion.select().where(Suggestion.rationale.startswith("Suggested by the language model")).exists()
    assert KEY not in caplog.text + "\n".join(events)
