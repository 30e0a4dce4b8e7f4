"""A long history (beyond FAST_HISTORY) trains faster without changing what it learns from what it is given."""
from __future__ import annotations

import numpy as np
import pytest

from budget import demo_data
from suggestions import model as m
from suggestions.features import payee_key, row_of
from suggestions.vote import build_votes, build_votes_split


@pytest.fixture(scope="module")
def history():
    return sorted(demo_data.generate_history(7), key=lambda t: (t.date, t.id))


def test_votes_grouped_once_equal_the_votes_of_the_prefix_and_of_the_whole(history):
    known = {c.id for c in demo_data.CATEGORIES}
    keys = [payee_key(t) for t in history]
    for cut in (0, 1, len(history) // 3, len(history) - 1, len(history)):
        before, whole = build_votes_split(history, known, keys, cut)
        assert before == build_votes(history[:cut], known)
        assert whole == build_votes(history, known)


def test_beyond_fast_history_the_classifier_kept_is_the_one_its_choice_measured(history, monkeypatch):
    monkeypatch.setattr(m, "FAST_HISTORY", 1000)
    monkeypatch.setattr(m, "FAST_WINDOW", 800)
    assert len(history) > m.FAST_HISTORY
    trained = m.train(history, demo_data.CATEGORIES)
    window = history[-m.FAST_WINDOW:]
    older = window[:int(len(window) * (1 - m.CALIBRATION_SHARE))]
    measured = m.fit_classifier(older, [row_of(t) for t in older], kind=trained.choice["unseen"], fast=True)
    rows = [row_of(t) for t in history[:300]]
    ours, theirs = trained.classifier.raw_predict(rows), measured.raw_predict(rows)
    assert ours[0] == theirs[0] and np.array_equal(ours[1], theirs[1])  # the same fit, so calibrated as measured
    assert trained.classifier.keys == measured.keys  # its rationale's look-alikes come from what it learned
    assert trained.votes == build_votes(history, {c.id for c in demo_data.CATEGORIES})  # votes: the whole history
    assert trained.history_size == len(history) and trained.calibration_pairs == len(window) - len(older)
