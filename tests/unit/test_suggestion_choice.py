"""The engine picks, per budget and on its own newest fifth, between the TF-IDF baseline's classifier and its own."""
import datetime as dt
import random
from collections import Counter

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from budget import demo_data
from budget.connector import Category, Transaction
from suggestions import model as m
from suggestions.backtest import split_history
from suggestions.baselines import TfidfSvcBaseline
from suggestions.engine import SuggestionEngine
from suggestions.features import PayeeFeaturizer, row_of


def test_the_payee_featurizer_on_merged_rows_equals_the_baselines_tfidf():
    history = demo_data.generate_history(7)[:800]
    rows = [row_of(t) for t in history]
    counts = Counter(rows)
    distinct = list(counts)
    featurizer = PayeeFeaturizer()
    merged = featurizer.fit_transform(distinct, [counts[r] for r in distinct])
    baseline = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit_transform([t.payee_name for t in history])
    index = {r: i for i, r in enumerate(distinct)}
    assert abs(merged[[index[r] for r in rows]][:, :-1] - baseline).max() < 1e-12
    assert np.allclose(featurizer.transform(rows)[:, :-1].toarray(), baseline.toarray())


def test_without_clear_evidence_the_engine_suggests_what_the_baseline_suggests():
    history, targets = split_history(demo_data.generate_history(7))
    categories = list(demo_data.CATEGORIES)
    engine = SuggestionEngine()
    ours = {p.transaction_id: p for p in engine.propose(history, targets, categories).proposals}
    theirs = {p.transaction_id: p.category_id for p in TfidfSvcBaseline().propose(history, targets, categories).proposals}
    trained = engine.train(history, categories)
    assert trained.choice["seen"] == ("payee", "refiled") and trained.choice["unseen"] == "payee"
    assert len(ours) == len(targets)
    refiled = {t.id for t in targets if (v := trained.votes.get(row_of(t).key)) and v.refiled_from}
    assert all(ours[i].category_id == c for i, c in theirs.items() if i not in refiled)


def test_a_more_complex_option_needs_a_clear_margin_on_the_same_rows():
    simple, other = ("payee", "refiled"), ("full", "refiled")
    base = [True] * 80 + [False] * 20
    slightly = [True] * 79 + [False] + [True] * 3 + [False] * 17  # 3 gained, 1 lost
    clearly = [True] * 79 + [False] + [True] * 15 + [False] * 5  # 15 gained, 1 lost
    assert m._pick([simple, other], {simple: base, other: slightly})[0] == simple
    assert m._pick([simple, other], {simple: base, other: clearly})[0] == other
    assert m._pick([simple, other], {simple: base, other: list(base)})[0] == simple  # ties: the simpler


def test_a_budget_where_account_and_amount_decide_gets_the_full_classifier():
    cats = [Category("c-rent", "Rent", ""), Category("c-save", "Savings", ""), Category("c-food", "Groceries", "")]
    rng = random.Random(5)
    rows = []
    for i in range(600):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=i // 2)
        if rng.random() < 0.5:  # the same payee text: the account says which category
            account = rng.choice(["landlord", "savings"])
            rows.append(Transaction(f"t{i}", account, account, None, "ONLINE TRANSFER", day, -rng.randint(50000, 90000),
                                    "c-rent" if account == "landlord" else "c-save"))
        else:
            rows.append(Transaction(f"t{i}", "card", "card", None, f"GROCER {rng.randint(1, 99)}", day,
                                    -rng.randint(500, 9000), "c-food"))
    trained = m.train(rows, cats)
    assert trained.choice["seen"][0] == "full"
    later = [Transaction("x1", "landlord", "landlord", None, "ONLINE TRANSFER", dt.date(2025, 6, 1), -70000, None),
             Transaction("x2", "savings", "savings", None, "ONLINE TRANSFER", dt.date(2025, 6, 1), -70000, None)]
    assert [p.category_id for p in m.predict(trained, later)] == ["c-rent", "c-save"]


def test_a_suggestion_is_hidden_only_below_the_minimum_confidence(monkeypatch):
    history, targets = split_history(demo_data.generate_history(7))
    monkeypatch.setattr(m.TrainedModel, "cal", lambda self, group, raw: 0.0)
    result = SuggestionEngine(0.0).propose(history, targets[:50], list(demo_data.CATEGORIES))
    assert len(result.proposals) == 50 and not result.held_back  # a 0.0 still counts as a suggestion at minimum 0
    held = SuggestionEngine(0.01).propose(history, targets[:50], list(demo_data.CATEGORIES))
    assert held.held_back == {"below_min_confidence": 50}


def test_the_choice_is_kept_with_the_model_and_the_cache_version_moved():
    assert m.MODEL_VERSION >= 2
    trained = m.train(*_demo())
    assert set(trained.choice) >= {"seen", "unseen", "measured", "right"}
    assert trained.choice["measured"]["seen"] > 0


def _demo():
    return demo_data.generate_history(7), list(demo_data.CATEGORIES)


def test_beyond_5000_transactions_the_merged_fit_suggests_what_the_baseline_suggests():
    history, targets = split_history(sum((demo_data.generate_history(s) for s in (1, 2, 3)), []))
    assert len(history) > m.EXACT_ROWS
    categories = list(demo_data.CATEGORIES)
    ours, _ = m.fit_classifier(history, neighbours=False, kind="payee").raw_predict([row_of(t) for t in targets])
    theirs = [p.category_id for p in TfidfSvcBaseline().propose(history, targets, categories).proposals]
    assert sum(a == b for a, b in zip(ours, theirs)) >= 0.995 * len(targets)
