"""The suggestion engine: exact vote + learned model, calibrated confidence, rationale, lifecycle."""
import datetime as dt
import itertools
import pickle

import pytest

from budget.connector import Category, Transaction
from suggestions.engine import TRAIN_UNITS, SuggestionEngine
from suggestions.model_cache import ModelCache, fingerprint

CATS = [Category(f"c-{n.lower()}", n, "") for n in
        ("Groceries", "Household", "Entertainment", "Subscriptions", "Restaurants", "Taxi", "Fuel", "Salary")]
ID = {c.name: c.id for c in CATS}
_ids = itertools.count()


def tx(payee, category=None, day=dt.date(2025, 1, 1), amount=-1500, imported="", account="card", tid=None):
    return Transaction(id=tid or f"t{next(_ids)}", account_id=account, account_name=account, payee_id=None,
                       payee_name=payee, date=day, amount=amount, category_id=ID.get(category),
                       imported_payee=imported)


def days(start, n, step=7):
    return [start + dt.timedelta(days=step * i) for i in range(n)]


def background():
    """Other payees, so the classifier has several categories to choose from."""
    rows = [tx(f"SHELL OIL {5000 + i}", "Fuel", d, -4000) for i, d in enumerate(days(dt.date(2024, 1, 3), 30))]
    rows += [tx("ACME CORP PAYROLL PPD", "Salary", d, 250000) for d in days(dt.date(2024, 1, 5), 24, 14)]
    rows += [tx(f"WHOLEFDS MKT #{100 + i}", "Groceries", d, -6000) for i, d in enumerate(days(dt.date(2024, 1, 2), 40))]
    return rows


def propose(history, targets, **kw):
    result = SuggestionEngine(0.0).propose(history, targets, CATS, **kw)
    return {p.transaction_id: p for p in result.proposals}, result


def test_a_refiled_payee_follows_its_latest_category():
    history = background()
    history += [tx("NETFLIX.COM", "Entertainment", dt.date(2024, m, 15), -1549) for m in range(1, 11)]
    history += [tx("NETFLIX.COM", "Subscriptions", dt.date(2024, m, 15), -1549) for m in (11, 12)]
    later = [tx("NETFLIX.COM", day=dt.date(2025, m, 15), amount=-1549, tid=f"n{m}") for m in range(1, 8)]
    found, _ = propose(history, later)
    assert {found[t.id].category_name for t in later} == {"Subscriptions"}
    assert found["n1"].rationale.startswith("The last 2 'NETFLIX.COM' transactions were filed as Subscriptions")


def test_two_purchases_on_one_day_under_an_exception_are_not_a_refiling():
    from suggestions.vote import build_votes

    history = [tx("SOUTHWEST", "Taxi", dt.date(2024, m, 3)) for m in range(1, 7)]
    history += [tx("SOUTHWEST", "Entertainment", dt.date(2024, 7, 11)) for _ in range(2)]  # one trip
    vote = build_votes(history, set(ID.values()))["southwest"]
    assert vote.category_id == ID["Taxi"] and vote.refiled_from is None
    history.append(tx("SOUTHWEST", "Entertainment", dt.date(2024, 8, 11)))  # a second day: now re-filed
    vote = build_votes(history, set(ID.values()))["southwest"]
    assert vote.category_id == ID["Entertainment"] and vote.refiled_from == ID["Taxi"]


def test_a_new_category_for_a_payee_whose_categories_already_varied_is_not_a_refiling():
    from suggestions.vote import build_votes

    history = [tx("AMAZON", "Groceries" if m % 2 else "Household", dt.date(2024, m, 3)) for m in range(1, 11)]
    history += [tx("AMAZON", "Entertainment", dt.date(2024, 12, d)) for d in (5, 12)]  # presents
    vote = build_votes(history, set(ID.values()))["amazon"]
    assert vote.refiled_from is None and vote.category_id in {ID["Groceries"], ID["Household"]}


def test_the_vote_rationale_counts_and_dates():
    history = background()
    history += [tx("Target", "Groceries", d, -3000) for d in days(dt.date(2024, 1, 7), 37)]
    history += [tx("Target", "Household", d, -3000) for d in (dt.date(2024, 3, 1), dt.date(2024, 5, 1))]
    history.append(tx("Target", "Groceries", dt.date(2025, 6, 30), -3000))
    found, _ = propose(history, [tx("Target", day=dt.date(2025, 7, 2), amount=-3000, tid="x")])
    assert found["x"].category_name == "Groceries"
    assert found["x"].rationale == "38 of 40 earlier 'Target' transactions were Groceries, the last on Jun 30, 2025"


def test_unrelated_merchants_do_not_share_a_vote():
    history = background()
    history += [tx("M1 Long Island NY", "Restaurants", d, -4500) for d in days(dt.date(2024, 2, 1), 8)]
    history += [tx(f"NYCTAXI{i}H11 LONG ISLAND NY", "Taxi", d, -2500) for i, d in enumerate(days(dt.date(2024, 2, 2), 8))]
    targets = [tx("M1 Long Island NY", amount=-4000, tid="m1"), tx("NYCTAXI7A22 LONG ISLAND NY", amount=-2600, tid="taxi")]
    found, _ = propose(history, targets)
    assert found["m1"].category_name == "Restaurants"
    assert found["taxi"].category_name == "Taxi"


def test_a_new_spelling_is_placed_by_the_model_with_look_alike_payees():
    history = background()
    history += [tx(f"TARGET {5555 + i}", "Groceries", d, -3500) for i, d in enumerate(days(dt.date(2024, 1, 4), 20))]
    history += [tx("TARGET.COM", "Groceries", d, -3500) for d in days(dt.date(2024, 1, 6), 10, 30)]
    found, _ = propose(history, [tx("TARGET T-1234 BROOKLYN NY", amount=-3200, tid="new")])
    p = found["new"]
    assert p.category_name == "Groceries" and p.source == "model"
    assert p.rationale == "Looks like 'TARGET.COM': Groceries, 30 times"  # TARGET 5555.. and TARGET.COM share a key


def test_the_imported_payee_is_used_when_the_payee_says_nothing():
    history = background()
    history += [tx("", "Fuel", d, -3000, imported=f"CHEVRON {8000 + i}") for i, d in enumerate(days(dt.date(2024, 1, 9), 10))]
    found, _ = propose(history, [tx("", amount=-3100, imported="CHEVRON 8123", tid="c")])
    assert found["c"].category_name == "Fuel"


def test_weak_suggestions_are_held_back_and_counted():
    history = background() + [tx("CORNER SHOP", c, d) for c, d in
                              zip(["Groceries", "Household"] * 3, days(dt.date(2024, 6, 1), 6))]
    targets = [tx("CORNER SHOP", tid="weak"), tx("WHOLEFDS MKT #7", amount=-6000, tid="strong")]
    result = SuggestionEngine(min_confidence=0.9).propose(history, targets, CATS)
    assert "weak" in result.skipped
    assert result.held_back["below_min_confidence"] == len(result.skipped)
    assert all(p.confidence >= 0.9 for p in result.proposals)
    nothing = SuggestionEngine().propose([], [tx("ANY", tid="a")], CATS)
    assert nothing.skipped == ["a"] and nothing.held_back == {"no_usable_history": 1}


def test_confidence_bounds_and_one_outcome_per_target():
    targets = [tx(n, tid=f"o{i}") for i, n in enumerate(["SHELL OIL 1", "ZZZ UNKNOWN", "", "WHOLEFDS MKT #3"])]
    _, result = propose(background(), targets)
    assert all(0.0 < p.confidence <= 1.0 and p.rationale for p in result.proposals)
    assert sorted([p.transaction_id for p in result.proposals] + result.skipped) == sorted(t.id for t in targets)


def test_progress_covers_training_and_targets_and_can_stop_the_work():
    targets = [tx("SHELL OIL 77", amount=-3900) for _ in range(250)]
    calls = []
    SuggestionEngine().propose(background(), targets, CATS, lambda d, t: calls.append((d, t)))
    total = TRAIN_UNITS + 250
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert all(b - a <= 100 for a, b in zip([d for d, _ in calls], [d for d, _ in calls][1:]))

    class Stop(Exception):
        pass

    def stop_while_training(done, total):
        if 0 < done < TRAIN_UNITS:
            raise Stop

    with pytest.raises(Stop):
        SuggestionEngine().propose(background(), targets, CATS, stop_while_training)


def test_the_model_is_cached_per_budget_and_a_corrupt_cache_is_retrained(tmp_path):
    history = background()
    target = [tx("SHELL OIL 9", amount=-4100, tid="s")]
    first = SuggestionEngine(cache_dir=tmp_path).propose(history, target, CATS, budget_id="b/1")
    cache = ModelCache(tmp_path)
    assert cache.load("b/1", fingerprint(history, CATS)) is not None
    assert cache.load("b/1", fingerprint(history[:-1], CATS)) is None  # another history: not reused

    cache.path("b/1").write_bytes(b"budget-assist-model\n" + fingerprint(history, CATS).encode() + b"\nnot a pickle")
    again = SuggestionEngine(cache_dir=tmp_path).propose(history, target, CATS, budget_id="b/1")
    assert [p.category_id for p in again.proposals] == [p.category_id for p in first.proposals]
    assert cache.load("b/1", fingerprint(history, CATS)) is not None  # rewritten

    cache.path("b/1").write_bytes(pickle.dumps("garbage"))
    assert SuggestionEngine(cache_dir=tmp_path).propose(history, target, CATS, budget_id="b/1").proposals


def test_invalid_min_confidence():
    with pytest.raises(ValueError):
        SuggestionEngine(min_confidence=1.5)


def test_without_a_look_alike_the_payee_classifiers_reason_names_spellings_not_amounts():
    from suggestions import model as m
    from suggestions.rationale import model_reason
    from suggestions.features import row_of

    p = m.Prediction(ID["Fuel"], 0.4, "model", None, row_of(tx("QX ZZ")), "payee")
    assert model_reason(p, {}, {c.id: c.name for c in CATS}) == (
        "No earlier payee looks much like this one; the closest spellings were most often Fuel")
