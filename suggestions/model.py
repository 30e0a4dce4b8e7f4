"""The per-budget model: exact-payee votes beside a scikit-learn classifier, chosen and calibrated per budget.

Two classifiers (LinearSVC on features.py's featurizers), simplest first:
- "payee": exactly the TF-IDF baseline issue 17 sets as the bar (character 3-5-grams of the payee as
  written + the amount's sign; every transaction weighs the same);
- "full": character n-grams of payee and imported payee, words of payee and notes, sign, magnitude
  bucket and account; recent categorizations outweigh old ones (weight 0.5 ** (age / half-life)).
Identical feature rows are trained once with their weights summed (the same objective, faster).

Three policies for a payee the vote knows: "refiled" (the classifier answers, except for a payee the
user re-filed, where the vote's latest category wins: what issue 17 asks, so it is the default),
"model" (the classifier always, exactly the baseline) and "vote" (the vote whenever it exists).

Training (`train`):
1. Choose and calibrate: fit both classifiers and the votes on the oldest 80 % of the history (by
   date; of its newest CALIBRATION_WINDOW transactions for a long history, FAST_WINDOW beyond
   FAST_HISTORY) and suggest for the newest 20 %. Payees seen before and payees never seen are
   decided separately: each keeps the simplest option (the baseline's classifier; the "refiled"
   policy) unless another was right clearly more often on the same rows (`_pick`: a one-sided
   McNemar test), so noise does not move it away from the baseline. The chosen suggestions' (raw
   score, right?) pairs fit the calibrators (calibration.py), per agreement group.
2. Fit the chosen classifier(s) and the votes on the whole history. A budget over FAST_HISTORY
   transactions trades some of that for speed: its classifiers stop after fewer iterations and are
   the ones step 1 measured, fitted on the oldest 80 % of its newest FAST_WINDOW (so their
   calibration is exactly their own; the newest 20 % reach the suggestions through the votes).

Calibration is conditional, because agreement is itself evidence: separate calibrators for "vote
and classifier agree", "vote against the classifier", "classifier against the vote" and
"classifier alone" (a payee never seen before).
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Callable, Optional, Sequence, Union

import numpy as np

from budget.connector import Category, Transaction
from suggestions.calibration import Calibrator
from suggestions.features import Featurizer, PayeeFeaturizer, Row, payee_key, row_of
from suggestions.vote import Vote, build_votes, build_votes_split

if TYPE_CHECKING:
    from sklearn.svm import LinearSVC

MODEL_VERSION = 2
RECENCY_HALF_LIFE_DAYS = 365.0
CALIBRATION_SHARE = 0.2
CALIBRATION_WINDOW = 10000
"""Choice and calibration replay at most the newest this-many transactions (train on 80 %, score 20 %)."""
FAST_WINDOW = 5000
"""Beyond FAST_HISTORY, choice and calibration replay the newest this-many transactions, and the classifiers
measured there (fitted on the oldest 80 % of them) are kept; the votes still count the whole history."""
MIN_CALIBRATION_HISTORY = 100
SVC_C = 1.0
SVC_MAX_ITER = 100
"""Iterations of the "full" classifier (the "payee" one keeps LinearSVC's 1,000, except FAST_HISTORY)."""
MAX_TRAIN_ROWS = 20000
"""Distinct feature rows a classifier trains on at most (the most heavily weighted ones)."""
EXACT_ROWS = 5000
"""Up to this many transactions the "payee" classifier trains on every row with LinearSVC's defaults,
exactly as the baseline; beyond, on merged rows with counts as weights (the same objective; on the
real sets it made the same suggestions as the unmerged fit at 1,000 iterations, not at 100)."""
FAST_HISTORY = 20000
"""A budget with more categorized transactions than this trades that for speed: merged rows stop
after SVC_MAX_ITER iterations (liblinear converges slowly on heavily weighted rows), and the
classifiers are those its choice measured (see FAST_WINDOW)."""
KINDS = ("payee", "full")
"""The classifiers, simplest first (see the module docstring)."""
POLICIES = ("refiled", "model", "vote")
"""What a payee the vote knows gets, simplest first (see the module docstring)."""
DEFAULT_CHOICE = {"seen": ("payee", "refiled"), "unseen": "payee"}
Z = 2.0
MIN_GAIN = 3
"""A more complex option must beat the simplest by this much on the held-out rows (see _pick). Measured
over time splits 0.5-0.9 of the real sets: at Z = 1.645, MIN_GAIN = 2 a gain of 3 of 55 never-seen
payees chose the full classifier on Oxford (split 0.9), which then lost 5 against the baseline."""
"""Used when the history is too short to measure a choice."""
FALLBACK = {"agree": 0.8, "vote_disagrees": 0.5, "model_disagrees": 0.3, "model_alone": 0.4}
"""Cautious raw -> probability scales used until enough held-out pairs exist for a group."""

Step = Callable[[], None]
"""Called between training phases; may raise to stop (cancel, timeout)."""


@dataclass
class Classifier:
    """Featurizer + LinearSVC fitted on one history, with the neighbour index used in rationales."""

    featurizer: Union[Featurizer, PayeeFeaturizer]
    svc: Optional[LinearSVC]
    only_class: Optional[str]  # the single category when the history has just one
    kind: str = "full"
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
    classifier: Classifier  # answers for payees never seen before (and holds the rationale's neighbours)
    votes: dict[str, Vote]
    calibrators: dict[str, Calibrator]
    calibration_pairs: int = 0
    history_size: int = 0  # categorized transactions it was trained on
    seen_classifier: Optional[Classifier] = None  # answers for known payees when another kind won there
    policy: str = "refiled"
    choice: dict = field(default_factory=dict)  # what was chosen and the held-out counts that chose it

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
    kind: str = "full"  # the classifier that answered (a "model" prediction)


def make_estimator(kind: str = "full", fast: bool = False) -> LinearSVC:
    """The LinearSVC of one kind: the baseline's for "payee" (SVC_MAX_ITER iterations when `fast`), and "full"."""
    from sklearn.svm import LinearSVC  # imported on use: the CLI and the web never train

    if kind == "payee":
        return LinearSVC(random_state=0, max_iter=SVC_MAX_ITER if fast else 1000)
    return LinearSVC(C=SVC_C, max_iter=SVC_MAX_ITER, random_state=0)


def _weights(history: Sequence[Transaction]) -> list[float]:
    """Recency weight per transaction: 0.5 ** (days before the newest / RECENCY_HALF_LIFE_DAYS), once per age."""
    if not RECENCY_HALF_LIFE_DAYS:
        return [1.0] * len(history)
    days = [t.date.toordinal() for t in history]
    newest = max(days)
    by_age = {age: 0.5 ** (age / RECENCY_HALF_LIFE_DAYS) for age in {newest - d for d in days}}
    return [by_age[newest - d] for d in days]


def _merge(history: Sequence[Transaction], rows: Sequence[Row], kind: str) -> list[tuple[Row, str, float]]:
    """(row, category, summed weight) per distinct training row, heaviest first, at most MAX_TRAIN_ROWS.

    "payee" up to EXACT_ROWS transactions: every row, weight 1 (the baseline). Beyond: rows equal in the payee as written and the sign, each transaction weighing 1 (the
    baseline's objective exactly); "full": rows that differ only in the raw bank string (store
    numbers, codes) are merged into their newest one with summed recency weights."""
    if kind == "payee" and len(history) <= EXACT_ROWS:
        return [(r, t.category_id, 1.0) for r, t in zip(rows, history)]
    merged: dict[tuple, list] = {}
    weights = [1.0] * len(history) if kind == "payee" else _weights(history)
    for r, t, w in zip(rows, history, weights):
        key = (r.name, r.outflow, t.category_id) if kind == "payee" else (r.words, r.meta, t.category_id)
        group = merged.get(key)
        if group is None:
            merged[key] = [r, w]
        else:
            group[0] = r  # history is oldest first: keep the newest raw string
            group[1] += w
    unique = sorted(merged.items(), key=lambda kv: -kv[1][1])[:MAX_TRAIN_ROWS]
    return [(r, key[-1], w) for key, (r, w) in unique]


def fit_classifier(history: Sequence[Transaction], rows: Optional[Sequence[Row]] = None,
                   neighbours: bool = True, kind: str = "full", fast: bool = False) -> Classifier:
    """One kind of classifier (see the module docstring) fitted on the history (`fast`: see FAST_HISTORY)."""
    rows = rows if rows is not None else [row_of(t) for t in history]
    unique = _merge(history, rows, kind)
    weights = np.array([w for _, _, w in unique])
    if kind == "payee":
        featurizer: Union[Featurizer, PayeeFeaturizer] = PayeeFeaturizer()
        x = featurizer.fit_transform([r for r, _, _ in unique], weights)
    else:
        featurizer = Featurizer()
        x = featurizer.fit_transform([r for r, _, _ in unique])
        weights = weights / weights.mean()
    labels = [c for _, c, _ in unique]
    classes = sorted(set(labels))
    svc = None
    if len(classes) > 1:
        svc = make_estimator(kind, fast=fast and len(history) > EXACT_ROWS)
        svc.fit(x, labels, sample_weight=weights)
    clf = Classifier(featurizer, svc, classes[0] if len(classes) == 1 else None, kind)
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
    """Transactions in one of the budget's categories (also those without a payee: the baseline learns from them)."""
    names = {c.id for c in categories}
    return [t for t in history if t.category_id in names]


def _decide(vote: Optional[Vote], category: str, margin: float, policy: str) -> tuple[str, str, str, float]:
    """(category, source, calibration group, raw score) for one target; category "" = no answer."""
    if vote is not None and (not category or vote.category_id == category):
        return vote.category_id, "vote", "agree" if category else "vote_disagrees", vote.raw
    if vote is not None and policy != "model" and (vote.refiled_from is not None or policy == "vote"):
        return vote.category_id, "vote", "vote_disagrees", vote.raw
    return category, "model", "model_alone" if vote is None else "model_disagrees", margin


def choose(older: Sequence[Transaction], older_rows: Sequence[Row], newer: Sequence[Transaction],
           newer_rows: Sequence[Row], votes: dict[str, Vote], step: Step = lambda: None, fast: bool = False,
           fitted: Optional[dict[str, Classifier]] = None) -> tuple[dict, dict[str, list[tuple[float, bool]]]]:
    """The choice (see the module docstring) measured on `newer`, and its (raw, right?) pairs per group.

    Classifiers learn from `older` (kept in `fitted` by kind when given); `votes` come from everything before
    `newer`."""
    answers = {}
    for kind in KINDS:
        clf = fit_classifier(older, older_rows, False, kind, fast)
        answers[kind] = clf.raw_predict(newer_rows)
        if fitted is not None:
            fitted[kind] = clf
        step()
    seen = [i for i, r in enumerate(newer_rows) if r.key in votes]
    unseen = [i for i, r in enumerate(newer_rows) if r.key not in votes]
    decided: dict[tuple[str, str], list[tuple[str, str, str, float]]] = {}
    for kind in KINDS:
        for policy in POLICIES:
            predicted, margin = answers[kind]
            decided[kind, policy] = [_decide(votes.get(r.key), predicted[i], float(margin[i]), policy)
                                     for i, r in enumerate(newer_rows)]

    def hits(option: tuple[str, str], among: list[int]) -> list[bool]:
        return [decided[option][i][0] == newer[i].category_id for i in among]

    options = [(k, p) for k in KINDS for p in POLICIES]  # simplest first
    best_seen, seen_report = _pick(options, {o: hits(o, seen) for o in options})
    unseen_options = [(k, POLICIES[0]) for k in KINDS]
    best_unseen, unseen_report = _pick(unseen_options, {o: hits(o, unseen) for o in unseen_options})
    choice = {"seen": best_seen, "unseen": best_unseen[0], "measured": {"seen": len(seen), "unseen": len(unseen)},
              "right": {"seen": seen_report, "unseen": unseen_report}}
    groups: dict[str, list[tuple[float, bool]]] = {g: [] for g in FALLBACK}
    seen_set = set(seen)
    for i, t in enumerate(newer):
        option = best_seen if i in seen_set else best_unseen
        category, _, group, raw = decided[option][i]
        groups[group].append((raw, category == t.category_id))
    return choice, groups


def _pick(options: list[tuple[str, str]], hits: dict[tuple[str, str], list[bool]]) -> tuple[tuple[str, str], dict]:
    """The simplest option, unless another was right clearly more often on the same held-out rows.

    Paired comparison with the simplest: `gain` rows only the other got right, `loss` rows only the
    simplest did; the other is chosen when gain - loss >= max(MIN_GAIN, Z * sqrt(gain + loss))
    (McNemar's test, one-sided), the largest such margin winning."""
    base = hits[options[0]]
    best, best_margin = options[0], 0
    report = {"/".join(options[0]): sum(base)}
    for option in options[1:]:
        gain = sum(1 for a, b in zip(base, hits[option]) if b and not a)
        loss = sum(1 for a, b in zip(base, hits[option]) if a and not b)
        report["/".join(option)] = sum(hits[option])
        margin = gain - loss
        if margin >= max(MIN_GAIN, Z * (gain + loss) ** 0.5) and margin > best_margin:
            best, best_margin = option, margin
    return best, report


def train(history: Sequence[Transaction], categories: Sequence[Category], step: Step = lambda: None) -> TrainedModel:
    """Choose and calibrate on the newest part of the history, then fit on all of it (module docstring)."""
    history = sorted(_known(history, categories), key=attrgetter("date", "id"))
    keys = [payee_key(t) for t in history]
    fast = len(history) > FAST_HISTORY
    start = max(0, len(history) - FAST_WINDOW) if fast else 0
    rows = [row_of(t) for t in history[start:]]  # feature rows of the part the classifiers see

    def rows_from(i: int, j: int) -> list[Row]:
        return rows[i - start:j - start]

    known = {c.id for c in categories}
    calibrators: dict[str, Calibrator] = {}
    choice: dict = dict(DEFAULT_CHOICE)
    pairs = 0
    all_votes: Optional[dict[str, Vote]] = None
    measured: dict[str, Classifier] = {}  # beyond FAST_HISTORY: the classifiers the choice measured are kept
    step()
    if len(history) >= MIN_CALIBRATION_HISTORY:
        held = max(0, len(history) - (FAST_WINDOW if fast else CALIBRATION_WINDOW))
        cut = held + int((len(history) - held) * (1 - CALIBRATION_SHARE))
        older, newer = history[held:cut], history[cut:]
        if len({t.category_id for t in older}) > 1:
            votes, all_votes = build_votes_split(history, known, keys, cut)
            choice, groups = choose(older, rows_from(held, cut), newer, rows_from(cut, len(history)), votes, step, fast,
                                    measured if fast else None)
            if measured:
                _index_neighbours(measured[choice["unseen"]], older, rows_from(held, cut))
            for group, scored in groups.items():
                if scored:
                    calibrators[group] = Calibrator.fit(*zip(*scored), fallback_scale=FALLBACK[group])
            pairs = len(newer)
    step()
    seen_kind, policy = choice["seen"]
    if not history:
        return TrainedModel(MODEL_VERSION, Classifier(Featurizer(), None, None), {}, calibrators, 0, 0)
    def final(kind: str, neighbours: bool) -> Classifier:
        return measured.get(kind) or fit_classifier(history[start:], rows, neighbours=neighbours, kind=kind, fast=fast)

    classifier = final(choice["unseen"], True)
    seen = final(seen_kind, False) if seen_kind != choice["unseen"] else None
    step()
    final_votes = all_votes if all_votes is not None else build_votes(history, known, keys)
    return TrainedModel(MODEL_VERSION, classifier, final_votes, calibrators, pairs, len(history), seen, policy, choice)


def predict(model: TrainedModel, targets: Sequence[Transaction]) -> list[Optional[Prediction]]:
    """Per target the chosen classifier's or the vote's answer, calibrated (None when nothing can answer)."""
    rows = [row_of(t) for t in targets]
    predicted, margin = model.classifier.raw_predict(rows) if targets else ([], np.zeros(0))
    kinds = [model.classifier.kind] * len(rows)
    if model.seen_classifier is not None:  # known payees: the classifier chosen for them
        known = [i for i, r in enumerate(rows) if r.key in model.votes]
        other, other_margin = model.seen_classifier.raw_predict([rows[i] for i in known]) if known else ([], [])
        for j, i in enumerate(known):
            predicted[i], margin[i], kinds[i] = other[j], other_margin[j], model.seen_classifier.kind
    out: list[Optional[Prediction]] = []
    for r, c, m, kind in zip(rows, predicted, margin, kinds):
        vote = model.votes.get(r.key)
        if vote is None and model.classifier.svc is None:
            out.append(None)  # one category in the whole history: nothing learned tells a new payee apart
            continue
        category, source, group, raw = _decide(vote, c, float(m), model.policy)
        out.append(Prediction(category, model.cal(group, raw), source, vote, r, kind) if category else None)
    return out


def newest_date(history: Sequence[Transaction]) -> Optional[dt.date]:
    """Date of the newest transaction (None for an empty history)."""
    return max((t.date for t in history), default=None)
