"""The exact-payee vote: what this payee's own earlier transactions were filed as, newest first.

A payee the user re-filed follows its latest category: when the newest transactions of a payee, on
`REFILE_RUN` or more different days, agree on a category the payee never had before them, that category wins
even against an older majority (Netflix moved from Entertainment to Subscriptions stays in
Subscriptions). Two purchases on one day (one trip filed under an exception) are not a re-filing,
nor is a new category for a payee whose categories already varied (Amazon, General Shopping and
Household, then two Gifts in December): only a payee settled in one category (SETTLED_SHARE of its
earlier transactions) is re-filed. Otherwise the most frequent category wins, ties going to the
more recent (small Apple bills are Games, larger ones Streaming: the majority).
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Optional, Sequence

from budget.connector import Transaction
from suggestions.features import payee_key

REFILE_RUN = 2
SETTLED_SHARE = 0.8
"""A re-filing moves a payee that was settled: this share of its earlier transactions in one category."""


@dataclass(frozen=True)
class Vote:
    category_id: str
    winner: int  # transactions of the deciding window that were in category_id
    total: int  # transactions in the deciding window (all of them, or those since the re-file)
    all_total: int  # every earlier transaction of this payee
    last_date: dt.date  # newest earlier transaction in category_id
    display: str  # the payee as the user last saw it
    refiled_from: str | None = None  # the older majority category when the payee was re-filed

    @property
    def raw(self) -> float:
        """Uncalibrated strength of the vote, 0..1 (the calibrator turns it into a probability)."""
        return (self.winner + 0.5) / (self.total + 1.0)


def _payee_sequences(history: Sequence[Transaction], known: set[str], keys: Optional[Sequence[str]] = None,
                     cut: Optional[int] = None) -> tuple[dict[str, list[Transaction]], dict[str, int]]:
    """Each payee key's transactions in history order (categories outside `known` left out), and, with `cut`,
    how many of each came before index `cut`."""
    seqs: dict[str, list[Transaction]] = {}
    before: dict[str, int] = {}
    for i, t in enumerate(history):
        if i == cut:
            before = {key: len(seq) for key, seq in seqs.items()}
        if t.category_id in known:
            key = keys[i] if keys is not None else payee_key(t)
            if key:
                seqs.setdefault(key, []).append(t)
    if cut is not None and cut >= len(history):
        before = {key: len(seq) for key, seq in seqs.items()}
    return seqs, before


def build_votes(history: Sequence[Transaction], known: set[str], keys: Optional[Sequence[str]] = None) -> dict[str, Vote]:
    """One vote per payee key of the categorized history (categories outside `known` do not vote).

    `keys` (payee_key of each transaction) may be passed when already computed."""
    seqs, _ = _payee_sequences(history, known, keys)
    ordered = all(a.date <= b.date for a, b in zip(history, history[1:]))
    votes: dict[str, Vote] = {}
    for key, seq in seqs.items():
        if not ordered:
            seq.sort(key=lambda t: (t.date, t.id))
        votes[key] = _vote(seq)
    return votes


def build_votes_split(history: Sequence[Transaction], known: set[str], keys: Sequence[str],
                      cut: int) -> tuple[dict[str, Vote], dict[str, Vote]]:
    """`build_votes(history[:cut])` and `build_votes(history)` of a history sorted oldest first, grouping once.

    A payee's votes before the cut come from the prefix of its own sequence; a payee with nothing at or
    after the cut shares one Vote in both."""
    seqs, before = _payee_sequences(history, known, keys, cut)
    votes: dict[str, Vote] = {}
    at_cut: dict[str, Vote] = {}
    for key, seq in seqs.items():
        votes[key] = _vote(seq)
        n = before.get(key, 0)
        if n:
            at_cut[key] = votes[key] if n == len(seq) else _vote(seq[:n])
    return at_cut, votes


def _settled_elsewhere(before: list[Transaction], category_id: str) -> bool:
    """Were SETTLED_SHARE of `before` in one category, and none in `category_id`?"""
    counts = Counter(t.category_id for t in before)
    return category_id not in counts and max(counts.values()) >= SETTLED_SHARE * len(before)


def _vote(seq: list[Transaction]) -> Vote:
    last = seq[-1]
    run = 0
    run_days = set()
    for t in reversed(seq):
        if t.category_id != last.category_id:
            break
        run += 1
        run_days.add(t.date)
    counts = Counter(t.category_id for t in seq)
    recency = {t.category_id: i for i, t in enumerate(seq)}  # index of the newest of each category
    majority = max(counts, key=lambda c: (counts[c], recency[c]))
    display = last.payee_name or last.imported_payee
    if len(run_days) >= REFILE_RUN and run < len(seq) and _settled_elsewhere(seq[:len(seq) - run], last.category_id):
        return Vote(last.category_id, run, run, len(seq), last.date, display, refiled_from=majority)
    newest = max(t.date for t in seq if t.category_id == majority)
    return Vote(majority, counts[majority], len(seq), len(seq), newest, display)
