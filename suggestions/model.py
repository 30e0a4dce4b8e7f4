"""The per-budget model: exact-payee votes beside a scikit-learn classifier, both calibrated.

Training (`train`):
1. Calibrate: fit votes + classifier on the oldest 80 % of the history (by date; of its newest
   CALIBRATION_WINDOW transactions for a long history), suggest for the newest 20 %, and fit the
   calibrators from (raw score, right?) pairs (see calibration.py).
2. Fit votes + classifier on the whole history.
The classifier is a LinearSVC on character 3-5-grams of the payee and imported payee, words of
payee and notes, sign, magnitude bucket and account (features.py); identical rows are merged with
summed weights, and each transaction weighs 0.5 ** (age / RECENCY_HALF_LIFE_DAYS), so recent
categorizations outweigh old ones.

Prediction (`predict`): the classifier answers (it sees the amount and account, so it separates a
payee's small and large purchases), except for a payee the user re-filed, where the vote's latest
category wins. Calibration is conditional, because agreement is itself evidence: separate
calibrators for "vote and classifier agree", "re-filed vote against the classifier", "classifier
against the vote" and "classifier alone" (a payee never seen before).
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np
from sklearn.svm import LinearSVC

from budget.connector import Category, Transaction
from suggestions.calibration import Calibrator
from suggestions.features import Featurizer, Row, payee_key, row_of
from suggestions.vote import Vote, build_votes

MODEL_VERSION = 1
RECENCY_HALF_LIFE_DAYS = 365.0
CALIBRATION_SHARE = 0.2
CALIBRATION_WINDOW = 30000
"""Calibration replays at most the newest this-many transactions (train on 80 %, score 20 %)."""
MIN_CALIBRATION_HISTORY = 100
SVC_C = 1.0
SVC_MAX_ITER = 100
MAX_TRAIN_ROWS = 20000
"""Distinct feature rows the classifier trains on at most (the most heavily weighted ones)."""
POLICY = "model"  # "model": classifier unless the payee was re-filed; "vote_first": the vote whenever it exists
FALLBACK = {"agree": 0.8, "vote_disagrees": 0.5, "model_disagrees": 0.3, "model_alone": 0.4}
"""Cautious raw -> probability scales used until enough held-out pairs exist for a group."""

Step = Callable[[], None]
"""Called between training phases; may raise to stop (cancel, timeout)."""


@dataclass
class Classifier:
    """Featurizer + LinearSVC fitted on one history, with the neighbour index used in rationales."""

    featurizer: Featurizer
    svc: Optional[LinearSVC]
    only_class: Optional[str]  # the single category when the history has just one
    keys: list[str] = field(default_factory=list)  # distinct normalised payee texts of the history
    key_categories: list[Counter] = field(default_factory=list)
    key_display: list[str] = field(default_factory=list)
    key_vectors: object = None

    def raw_predict(self, rows: Sequence[Row]) -> tuple[list[str], np.ndarray]:
        """Best category per row and its raw score (margin over the runner-up, in 0..~2)."""
        if self.svc is None:
            return [self.only_class or ""] * len(rows), np.zeros(len(rows))
        scores = self.svc.decision_function(self.featurizer.transform(rows))
        if scores.ndim == 1:  # two classes
            scores = np.column_stack([-scores, scores])
        order = np.argsort(-scores, axis=1)
        best = scores[np.arange(len(rows)), order[:, 0]]
        second = scores[np.arange(len(rows)), order[:, 1]]
        margin = best - second
        return [str(self.svc.classes_[i]) for i in order[:, 0]], margin


@dataclass
class TrainedModel:
    """Everything predict needs; pickled into the per-budget cache."""

    version: int
    classifier: Classifier
    votes: dict[str, Vote]
    calibrators: dict[str, Calibrator]
    calibration_pairs: int = 0
    history_size: int = 0  # categorized transactions it was trained on

    def cal(self, group: str, raw: float) -> float:
        """Calibrated probability for one of the groups in FALLBACK."""
        return self.calibrators.get(group, Calibrator(fallback_scale=FALLBACK[group]))(raw)


@dataclass(frozen=True)
class Prediction:
    category_id: str
    confidence: float
    source: str  # "vote" or "model"
    vote: Optional[Vote]
    row: Row


def make_estimator():
    """The classifier chosen by measurement (see the module docstring)."""
    return LinearSVC(C=SVC_C, max_iter=SVC_MAX_ITER, random_state=0)


def _weights(history: Sequence[Transaction]) -> list[float]:
    newest = max(t.date for t in history)
    if not RECENCY_HALF_LIFE_DAYS:
        return [1.0] * len(history)
    return [0.5 ** ((newest - t.date).days / RECENCY_HALF_LIFE_DAYS) for t in history]


def fit_classifier(history: Sequence[Transaction], rows: Optional[Sequence[Row]] = None,
                   neighbours: bool = True) -> Classifier:
    """Featurizer + LinearSVC on the history: rows that differ only in the raw bank string (store
    numbers, codes) are merged into their newest one with summed recency weights."""
    rows = rows if rows is not None else [row_of(t) for t in history]
    merged: dict[tuple[str, str, str], list] = {}
    for r, t, w in zip(rows, history, _weights(history)):
        group = merged.get((r.words, r.meta, t.category_id))
        if group is None:
            merged[(r.words, r.meta, t.category_id)] = [r, w]
        else:
            group[0] = r  # history is oldest first: keep the newest raw string
            group[1] += w
    unique = sorted(merged.items(), key=lambda kv: -kv[1][1])[:MAX_TRAIN_ROWS]
    featurizer = Featurizer()
    x = featurizer.fit_transform([r for _, (r, _) in unique])
    labels = [key[2] for key, _ in unique]
    classes = sorted(set(labels))
    svc = None
    if len(classes) > 1:
        svc = make_estimator()
        weights = np.array([w for _, (_, w) in unique])
        svc.fit(x, labels, sample_weight=weights / weights.mean())
    clf = Classifier(featurizer, svc, classes[0] if len(classes) == 1 else None)
    if neighbours:
        _index_neighbours(clf, history, rows)
    return clf


def _index_neighbours(clf: Classifier, history: Sequence[Transaction], rows: Sequence[Row]) -> None:
    by_key: dict[str, Counter] = defaultdict(Counter)
    display: dict[str, str] = {}
    for r, t in zip(rows, history):
        by_key[r.words][t.category_id] += 1
        display[r.words] = t.payee_name or t.imported_payee
    clf.keys = list(by_key)
    clf.key_categories = [by_key[k] for k in clf.keys]
    clf.key_display = [display[k] for k in clf.keys]
    clf.key_vectors = clf.featurizer.payee_vectors(clf.keys)


def _known(history: Sequence[Transaction], categories: Sequence[Category]) -> list[Transaction]:
    names = {c.id for c in categories}
    return [t for t in history if t.category_id in names and (t.payee_name or t.imported_payee or t.notes)]


def train(history: Sequence[Transaction], categories: Sequence[Category], step: Step = lambda: None) -> TrainedModel:
    """Calibrate on the newest part of the history, then fit on all of it (see the module docstring)."""
    history = sorted(_known(history, categories), key=lambda t: (t.date, t.id))
    rows = [row_of(t) for t in history]
    known = {c.id for c in categories}
    calibrators: dict[str, Calibrator] = {}
    pairs = 0
    step()
    if len(history) >= MIN_CALIBRATION_HISTORY:
        first = max(0, len(history) - CALIBRATION_WINDOW)
        cut = first + int((len(history) - first) * (1 - CALIBRATION_SHARE))
        older, newer = history[first:cut], history[cut:]
        if len({t.category_id for t in older}) > 1:
            trial = TrainedModel(MODEL_VERSION, fit_classifier(older, rows[first:cut], neighbours=False),
                                 build_votes(older, known, [r.key for r in rows[first:cut]]), {})
            step()
            for group, scored in _scored(trial, newer, rows[cut:]).items():
                if scored:
                    calibrators[group] = Calibrator.fit(*zip(*scored), fallback_scale=FALLBACK[group])
            pairs = len(newer)
    step()
    classifier = fit_classifier(history, rows) if history else Classifier(Featurizer(), None, None)
    step()
    return TrainedModel(MODEL_VERSION, classifier, build_votes(history, known, [r.key for r in rows]), calibrators, pairs,
                        len(history))


def _scored(model: TrainedModel, newer: Sequence[Transaction], rows: Sequence[Row]) -> dict[str, list[tuple[float, bool]]]:
    predicted, margin = model.classifier.raw_predict(rows)
    groups: dict[str, list[tuple[float, bool]]] = {g: [] for g in FALLBACK}
    for t, r, c, m in zip(newer, rows, predicted, margin):
        vote = model.votes.get(r.key)
        if vote is None:
            groups["model_alone"].append((float(m), c == t.category_id))
        elif vote.category_id == c:
            groups["agree"].append((vote.raw, c == t.category_id))
        elif vote.refiled_from is not None:
            groups["vote_disagrees"].append((vote.raw, vote.category_id == t.category_id))
        else:
            groups["model_disagrees"].append((float(m), c == t.category_id))
    return groups


def predict(model: TrainedModel, targets: Sequence[Transaction]) -> list[Optional[Prediction]]:
    """The more probable of vote and classifier per target (None when neither can say anything)."""
    rows = [row_of(t) for t in targets]
    predicted, margin = model.classifier.raw_predict(rows) if targets else ([], np.zeros(0))
    out: list[Optional[Prediction]] = []
    for t, r, c, m in zip(targets, rows, predicted, margin):
        vote = model.votes.get(r.key)
        has_model = bool(c and (r.payee or r.words))
        if vote is not None and (not has_model or vote.category_id == c):
            out.append(Prediction(vote.category_id, model.cal("agree", vote.raw) if has_model
                                  else model.cal("vote_disagrees", vote.raw), "vote", vote, r))
        elif vote is not None and (vote.refiled_from is not None or POLICY == "vote_first"):
            out.append(Prediction(vote.category_id, model.cal("vote_disagrees", vote.raw), "vote", vote, r))
        elif has_model:
            group = "model_alone" if vote is None else "model_disagrees"
            out.append(Prediction(c, model.cal(group, float(m)), "model", vote, r))
        else:
            out.append(None)
    return out


def newest_date(history: Sequence[Transaction]) -> Optional[dt.date]:
    """Date of the newest transaction (None for an empty history)."""
    return max((t.date for t in history), default=None)
