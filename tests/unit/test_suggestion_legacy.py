"""The engine as it was before issue 17 (suggestions/legacy.py), kept for the backtest: its behaviour stays pinned."""
import datetime as dt
import itertools

import pytest

from budget.connector import Category, Transaction
from suggestions.legacy import EngineResult, LegacyEngine as SuggestionEngine, Proposal

CATS = [
    Category("c-coffee", "Coffee", "Food"),
    Category("c-groc", "Groceries", "Food"),
    Category("c-shop", "General Shopping", "Shopping"),
    Category("c-fuel", "Fuel", "Transport"),
]
_ids = itertools.count()


def tx(payee, category=None, tid=None):
    return Transaction(
        id=tid or f"t{next(_ids)}", account_id="a", account_name="Checking", payee_id=None, payee_name=payee,
        date=dt.date(2025, 1, 1), amount=-500, category_id=category,
    )


def history():
    rows = [tx(f"SQ *BLUE BOTTLE {1000 + i}", "c-coffee") for i in range(12)]
    rows.append(tx("SQ *BLUE BOTTLE", "c-groc"))
    rows += [tx(f"WHOLEFDS MKT #{10000 + i}", "c-groc") for i in range(20)]
    rows += [tx("SHELL OIL 57442", "c-fuel") for _ in range(3)]
    rows += [tx("AMZN Mktp US*2K4", "c-shop"), tx("AMZN Mktp US*9ZZ", "c-groc")]
    rows.append(tx("CORNER STORE", None))  # uncategorized history does not vote
    return rows


def by_id(result):
    return {p.transaction_id: p for p in result.proposals}


def test_exact_vote_with_damped_confidence_and_rationale():
    target = tx("SQ *BLUE BOTTLE 7777", tid="x")
    result = SuggestionEngine().propose(history(), [target], CATS, lambda d, t: None)
    p = by_id(result)["x"]
    assert p.category_id == "c-coffee" and p.category_name == "Coffee"
    assert p.confidence == pytest.approx(12 / 13 * 13 / 14, abs=1e-4)
    assert p.rationale == "12 of 13 earlier 'blue bottle' transactions were Coffee"
    assert result.skipped == []


def test_fuzzy_fallback_is_scaled_down_and_explained():
    target = tx("WHOLE FOODS MKT SF", tid="f")
    exact = SuggestionEngine().propose(history(), [tx("WHOLEFDS MKT #1", tid="e")], CATS).proposals[0]
    result = SuggestionEngine().propose(history(), [target], CATS)
    p = by_id(result)["f"]
    assert p.category_name == "Groceries"
    assert p.confidence < exact.confidence
    assert p.rationale.startswith("Payee resembles 'whole foods market' (score ")
    assert p.rationale.endswith("20 of 20 were Groceries")


def test_unknown_payee_and_empty_name_are_skipped():
    targets = [tx("ZEN NAIL SPA 4411", tid="z"), tx("", tid="empty")]
    result = SuggestionEngine().propose(history(), targets, CATS)
    assert result.proposals == []
    assert result.skipped == ["z", "empty"]


def test_split_vote_below_threshold_is_skipped():
    # amazon marketplace: 1 of 2 -> 0.5 * 2/3 = 0.33 < 0.5
    result = SuggestionEngine().propose(history(), [tx("AMZN Mktp US*ABC1", tid="a")], CATS)
    assert result.skipped == ["a"]
    lenient = SuggestionEngine(min_confidence=0.3).propose(history(), [tx("AMZN Mktp US*ABC1", tid="a")], CATS)
    assert lenient.proposals[0].category_name == "General Shopping"  # tie -> first category name


def test_categories_not_offered_do_not_vote():
    cats = [c for c in CATS if c.id != "c-coffee"]
    result = SuggestionEngine(min_confidence=0.0).propose(history(), [tx("SQ *BLUE BOTTLE", tid="b")], cats)
    assert by_id(result)["b"].category_id == "c-groc"


def test_confidence_bounds_and_one_outcome_per_target():
    targets = [tx(name, tid=f"t-{i}") for i, name in enumerate(
        ["SQ *BLUE BOTTLE", "WHOLEFDS MKT #3", "SHELL OIL 1", "SHELL SERVICE STATION 2", "NOPE", "AMZN Mktp US*1"])]
    result = SuggestionEngine(min_confidence=0.0).propose(history(), targets, CATS)
    assert isinstance(result, EngineResult)
    assert all(isinstance(p, Proposal) and 0.0 <= p.confidence <= 1.0 for p in result.proposals)
    outcomes = [p.transaction_id for p in result.proposals] + result.skipped
    assert sorted(outcomes) == sorted(t.id for t in targets)


def test_invalid_min_confidence():
    with pytest.raises(ValueError):
        SuggestionEngine(min_confidence=1.5)


def test_progress_at_least_every_100_and_can_stop_the_work():
    targets = [tx("SQ *BLUE BOTTLE") for _ in range(250)]
    calls = []
    SuggestionEngine().propose(history(), targets, CATS, lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 250) and calls[-1] == (250, 250)
    dones = [d for d, _ in calls]
    assert all(b - a <= 100 for a, b in zip(dones, dones[1:]))

    class Stop(Exception):
        pass

    def stop(done, total):
        if done >= 100:
            raise Stop

    with pytest.raises(Stop):
        SuggestionEngine().propose(history(), targets, CATS, stop)


def test_larger_run_on_demo_data():
    """A scaled-down version of the 10k x 100k benchmark (bench/suggest_scale.py); no timing asserted."""
    from testkit.suggest_data import build_data

    hist, targets, cats = build_data(n_targets=2000, n_history=20000)
    result = SuggestionEngine().propose(hist, targets, cats)
    assert len(result.proposals) + len(result.skipped) == 2000
    assert len(result.proposals) > 1500
    assert any("resembles" in p.rationale for p in result.proposals)
