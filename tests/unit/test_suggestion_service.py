"""SuggestionService on a temp demo budget: generate once, review transitions, drop stale ones."""
from __future__ import annotations

import pytest

from core.errors import InvalidTransition, ValidationFailed
from models.domain import Suggestion
from suggestions.engine import SuggestionEngine
from suggestions.service import SuggestionService


def noop(done, total):
    return None


@pytest.fixture()
def connector(services):
    c = services.connectors.open(services.budgets.get("demo"))
    c.pull_latest(noop)  # first pull: the seeded budget plus one bank batch of uncategorized transactions
    yield c
    c.close()


@pytest.fixture(scope="module")
def engine():
    """One engine for the module: every test seeds the same demo history, so the model trains once."""
    return SuggestionEngine()


@pytest.fixture()
def svc(services, engine):
    return SuggestionService(engine)


@pytest.fixture()
def generated(svc, connector):
    return svc.generate("demo", "job-1", connector, noop)


def uncategorized_ids(connector):
    return {t.id for t in connector.transactions() if not t.category_id}


def test_generate_after_a_sync_proposes_for_uncategorized_transactions(svc, connector, generated):
    targets = uncategorized_ids(connector)
    assert generated["considered"] == len(targets) > 0
    assert generated["suggested"] > 0
    assert generated["suggested"] + generated["skipped"] == generated["considered"]
    rows = list(Suggestion.select().where(Suggestion.budget_id == "demo"))
    assert len(rows) == generated["suggested"]
    assert {s.transaction_id for s in rows} <= targets
    assert len({s.transaction_id for s in rows}) == len(rows)
    categories = {c.id: c.name for c in connector.categories()}
    for s in rows:
        assert s.status == "pending" and s.job_id == "job-1"
        assert 0 < s.confidence <= 1 and s.rationale
        assert categories[s.proposed_category_id] == s.proposed_category_name


def test_generate_reports_what_was_held_back_and_why(svc, connector, generated):
    assert generated["minConfidence"] == svc.engine.min_confidence
    assert sum(generated["heldBack"].values()) == generated["skipped"]
    assert set(generated["heldBack"]) <= {"below_min_confidence", "no_usable_history"}


def test_a_second_generate_adds_nothing(svc, connector, generated):
    count = Suggestion.select().count()
    again = svc.generate("demo", "job-2", connector, noop)
    assert again["suggested"] == 0
    assert Suggestion.select().count() == count
    assert Suggestion.select().where(Suggestion.job_id == "job-2").count() == 0


def test_a_rejected_suggestion_is_not_proposed_again(svc, connector, generated):
    first = Suggestion.select().first()
    svc.review([first.id], "rejected")
    svc.generate("demo", "job-2", connector, noop)
    assert Suggestion.select().where(Suggestion.transaction_id == first.transaction_id).count() == 1


def test_generate_reports_progress(svc, connector):
    calls = []
    svc.generate("demo", "job-1", connector, lambda d, t: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1]


def test_the_next_sync_brings_new_transactions_to_suggest_for(svc, connector, generated):
    connector.pull_latest(noop)
    more = svc.generate("demo", "job-2", connector, noop)
    assert more["considered"] > 0
    assert Suggestion.select().where(Suggestion.job_id == "job-2").count() == more["suggested"]


def test_a_payee_group_retry_regenerates_only_that_group(svc, connector, generated):
    s = Suggestion.select().first()
    group = Suggestion.select().where(Suggestion.payee_key == s.payee_key).count()
    total = Suggestion.select().count()
    assert svc.reset_payee_group("demo", s.payee_key) == group
    result = svc.generate("demo", "retry", connector, noop, payee_key=s.payee_key)
    assert result["suggested"] == group
    assert Suggestion.select().count() == total
    assert {x.payee_key for x in Suggestion.select().where(Suggestion.job_id == "retry")} == {s.payee_key}


# ------------------------------------------------------------------ review
REVIEW_ALLOWED = {("pending", "approved"), ("pending", "rejected"), ("approved", "pending"),
                  ("approved", "rejected"), ("rejected", "approved"), ("rejected", "pending")}


@pytest.mark.parametrize("start", ["pending", "approved", "rejected", "applied"])
@pytest.mark.parametrize("target", ["pending", "approved", "rejected"])
def test_review_transitions(svc, generated, start, target):
    s = Suggestion.select().first()
    Suggestion.update(status=start, open=True if start in ("pending", "approved") else None).where(
        Suggestion.id == s.id).execute()
    if start == target or (start, target) in REVIEW_ALLOWED:
        (after,) = svc.review([s.id], target)
        assert after.status == target
        assert after.open is (True if target in ("pending", "approved") else None)
    else:
        with pytest.raises(InvalidTransition):
            svc.review([s.id], target)
        assert Suggestion.get_by_id(s.id).status == start


def test_bulk_review_is_all_or_nothing(svc, generated):
    a, b = list(Suggestion.select().limit(2))
    Suggestion.update(status="applied", open=None).where(Suggestion.id == b.id).execute()
    with pytest.raises(InvalidTransition):
        svc.review([a.id, b.id], "rejected")
    assert Suggestion.get_by_id(a.id).status == "pending"
    with pytest.raises(ValidationFailed):
        svc.review([a.id, "nope"], "approved")
    assert Suggestion.get_by_id(a.id).status == "pending"


def test_check_approved(svc, generated):
    a, b = list(Suggestion.select().limit(2))
    svc.review([a.id], "approved")
    svc.check_approved("demo", [a.id])
    with pytest.raises(ValidationFailed, match="not approved"):
        svc.check_approved("demo", [a.id, b.id])
    with pytest.raises(ValidationFailed, match="Unknown"):
        svc.check_approved("other-budget", [a.id])
    assert [s.id for s in svc.approved("demo")] == [a.id]


def test_mark_applied_and_skipped_only_touch_approved(svc, generated):
    a, b, c = list(Suggestion.select().limit(3))
    svc.review([a.id, b.id], "approved")
    svc.mark_applied([a.id, c.id])
    svc.mark_skipped([b.id])
    # issue 16 item 6: skipped at apply is its own status, not a person's "rejected"
    assert [Suggestion.get_by_id(x.id).status for x in (a, b, c)] == ["applied", "skipped", "pending"]


# ------------------------------------------------------------------ stale suggestions
def test_drop_stale_removes_open_suggestions_whose_transaction_is_categorized_or_gone(svc, connector, generated):
    rows = list(Suggestion.select().order_by(Suggestion.id))
    gone, categorized, kept, rejected = rows[0], rows[1], rows[2], rows[3]
    Suggestion.update(transaction_id="deleted-tx").where(Suggestion.id == gone.id).execute()
    svc.review([rejected.id], "rejected")
    Suggestion.update(transaction_id="deleted-tx-2").where(Suggestion.id == rejected.id).execute()
    connector.set_categories({categorized.transaction_id: categorized.proposed_category_id}, noop)
    connector.pull_latest(noop)
    assert categorized.transaction_id not in uncategorized_ids(connector)
    assert svc.drop_stale("demo", connector) == 2
    remaining = {s.id for s in Suggestion.select()}
    assert gone.id not in remaining and categorized.id not in remaining
    assert kept.id in remaining and rejected.id in remaining  # closed suggestions are history, not stale
    assert svc.drop_stale("demo", connector) == 0


def test_suggestion_list_is_grouped_by_payee(svc, generated):
    rows = svc.list("demo")
    assert len(rows) == generated["suggested"]
    keys = [r["payeeKey"] for r in rows]
    assert keys == sorted(keys)
    assert svc.list("demo", "approved") == []


# ------------------------------------------------------------------ wiring
def test_the_wired_engine_takes_the_configured_minimum_confidence_and_caches_under_data_dir(tmp_path, db, queue):
    from budget.service import BudgetService
    from core.config import Config
    from wiring.services import build_services

    config = Config.from_env({"DATA_DIR": str(tmp_path / "wired"), "SUGGEST_MIN_CONFIDENCE": "0.7"})
    wired = build_services(config, queue).suggestions.engine
    assert wired.min_confidence == 0.7
    assert wired.cache is not None and wired.cache.directory == config.data_dir / "models"


def test_a_high_minimum_confidence_holds_suggestions_back_and_says_why(services, engine, connector):
    strict = SuggestionService(engine.with_min_confidence(0.99))
    result = strict.generate("demo", "job-1", connector, noop)
    assert result["minConfidence"] == 0.99
    assert result["heldBack"]["below_min_confidence"] > 0
    assert result["suggested"] + sum(result["heldBack"].values()) == result["considered"]
    assert all(s.confidence >= 0.99 for s in Suggestion.select())


class Counting:
    """A connector that counts full reads of its transactions (and the engine's inputs)."""

    def __init__(self, inner):
        self.inner = inner
        self.reads = 0

    def transactions(self):
        self.reads += 1
        return self.inner.transactions()

    def __getattr__(self, name):
        return getattr(self.inner, name)


class NoEngine(SuggestionEngine):
    def propose(self, *args, **kwargs):
        raise AssertionError("the engine ran although there was nothing to propose")


def test_generate_with_nothing_new_reads_no_transactions_and_runs_no_engine(svc, connector, generated):
    """A second generate on the same copy: every uncategorized transaction already has a suggestion."""
    assert generated["suggested"] > 0
    counting = Counting(connector)
    progress = []
    again = SuggestionService(NoEngine()).generate("demo", "job-2", counting, lambda d, t: progress.append((d, t)))
    assert (again["suggested"], again["considered"], again["skipped"]) == (0, 0, 0)
    assert counting.reads == 0
    assert progress and progress[-1][0] == progress[-1][1]


def test_generate_reads_everything_again_once_there_is_a_target(svc, connector, generated):
    """One suggestion dropped (as a payee retry does): that transaction is a target again, read in full."""
    target = Suggestion.select().where(Suggestion.budget_id == "demo").first()
    Suggestion.delete().where(Suggestion.id == target.id).execute()
    counting = Counting(connector)
    again = svc.generate("demo", "job-2", counting, noop)
    assert counting.reads == 1 and again["considered"] == 1 and again["suggested"] == 1
