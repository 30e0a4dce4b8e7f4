"""Propose categories for uncategorized transactions from the budget's own categorized history.

Method, per target transaction:
1. Exact: the normalised payee (see `normalize_payee`) was seen in the categorized history. The
   winning category is the most frequent one; confidence = share of the winner, damped for small
   samples by n / (n + 1) (one earlier transaction gives 0.5, 9 of 9 give 0.9).
2. Fuzzy: otherwise the normalised payee is matched against the known keys with rapidfuzz
   (`WRatio`, cutoff `fuzzy_cutoff`); the matched key's vote is used, with the confidence scaled
   by score / 100 and by `fuzzy_penalty`.
3. Below `min_confidence` (or no usable payee): the transaction id goes to `skipped`.
The caller groups proposals by payee; this module groups nothing.

Cost: the vote table is built once per call, normalisation is cached per raw name, fuzzy lookups
are cached per distinct normalised payee (one `process.extractOne` over the distinct keys each).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Optional

from rapidfuzz import fuzz, process, utils

from budget.connector import Category, Progress, Transaction
from suggestions.normalize import normalize_payee

PROGRESS_EVERY = 100


@dataclass(frozen=True)
class Proposal:
    transaction_id: str
    category_id: str
    category_name: str
    confidence: float  # 0..1
    rationale: str


@dataclass(frozen=True)
class EngineResult:
    proposals: list[Proposal] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Vote:
    category_id: str
    winner: int
    total: int

    @property
    def confidence(self) -> float:
        return (self.winner / self.total) * (self.total / (self.total + 1))


def _no_progress(done: int, total: int) -> None:
    return None


class SuggestionEngine:
    def __init__(self, min_confidence: float = 0.5, fuzzy_cutoff: float = 85.0, fuzzy_penalty: float = 0.9) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError("min_confidence must be within 0..1")
        self.min_confidence = min_confidence
        self.fuzzy_cutoff = fuzzy_cutoff
        self.fuzzy_penalty = fuzzy_penalty

    def propose(
        self,
        history: Iterable[Transaction],
        targets: list[Transaction],
        categories: list[Category],
        progress: Optional[Progress] = None,
    ) -> EngineResult:
        """One proposal or one skip per target; `progress(done, total)` at least every 100 targets."""
        progress = progress or _no_progress
        total = len(targets)
        progress(0, total)
        names = {c.id: c.name for c in categories}
        votes = self._votes(history, names)
        keys = list(votes)
        # Pre-processed once for rapidfuzz so extractOne does not redo it per call.
        choices = [utils.default_process(k) for k in keys]
        fuzzy_cache: dict[str, Optional[tuple[str, float]]] = {}

        proposals: list[Proposal] = []
        skipped: list[str] = []
        for done, t in enumerate(targets, 1):
            proposal = self._one(t, votes, keys, choices, fuzzy_cache, names)
            if proposal is None:
                skipped.append(t.id)
            else:
                proposals.append(proposal)
            if done % PROGRESS_EVERY == 0:
                progress(done, total)
        if total % PROGRESS_EVERY:
            progress(total, total)
        return EngineResult(proposals, skipped)

    @staticmethod
    def _votes(history: Iterable[Transaction], names: dict[str, str]) -> dict[str, _Vote]:
        counts: dict[str, Counter[str]] = {}
        for t in history:
            if t.category_id is None or t.category_id not in names:
                continue
            key = normalize_payee(t.payee_name)
            if not key:
                continue
            counter = counts.get(key)
            if counter is None:
                counter = counts[key] = Counter()
            counter[t.category_id] += 1
        votes: dict[str, _Vote] = {}
        for key, counter in counts.items():
            # Most votes wins; ties go to the alphabetically first category name (deterministic).
            category_id, winner = min(counter.items(), key=lambda item: (-item[1], names[item[0]], item[0]))
            votes[key] = _Vote(category_id, winner, sum(counter.values()))
        return votes

    def _fuzzy(self, key: str, keys: list[str], choices: list[str],
               cache: dict[str, Optional[tuple[str, float]]]) -> Optional[tuple[str, float]]:
        if key in cache:
            return cache[key]
        found = None
        if choices:
            match = process.extractOne(
                utils.default_process(key), choices, scorer=fuzz.WRatio, processor=None, score_cutoff=self.fuzzy_cutoff
            )
            if match is not None:
                found = (keys[match[2]], float(match[1]))
        cache[key] = found
        return found

    def _one(self, t: Transaction, votes: dict[str, _Vote], keys: list[str], choices: list[str],
             cache: dict[str, Optional[tuple[str, float]]], names: dict[str, str]) -> Optional[Proposal]:
        key = normalize_payee(t.payee_name)
        if not key:
            return None
        vote = votes.get(key)
        if vote is not None:
            confidence = vote.confidence
            rationale = (
                f"{vote.winner} of {vote.total} earlier '{key}' transactions were {names[vote.category_id]}"
            )
        else:
            match = self._fuzzy(key, keys, choices, cache)
            if match is None:
                return None
            matched, score = match
            vote = votes[matched]
            confidence = vote.confidence * (score / 100.0) * self.fuzzy_penalty
            rationale = (
                f"Payee resembles '{matched}' (score {score:.0f}): "
                f"{vote.winner} of {vote.total} were {names[vote.category_id]}"
            )
        confidence = max(0.0, min(1.0, round(confidence, 4)))
        if confidence < self.min_confidence:
            return None
        return Proposal(t.id, vote.category_id, names[vote.category_id], confidence, rationale)
