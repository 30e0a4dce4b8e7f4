"""The suggestion engine as it was before issue 17 (exact vote + rapidfuzz), kept to measure against.

The backtest reports its accuracy beside the current engine's; nothing in the product uses it.
Its normalisation drops every word containing a digit and most URLs (the failures issue 17 names).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Optional

from rapidfuzz import fuzz, process, utils

from budget.connector import Category, Progress, Transaction

PROGRESS_EVERY = 100

# Card processors and point-of-sale prefixes that say nothing about the merchant.
_PREFIX = re.compile(
    r"^(?:(?:sq|tst|sp|pp|paypal|dd|ddbr|py|in|bt|fs|sms|pos|ckcd|chk|dbt|ach)\s*\*\s*"
    r"|(?:pos|debit card|debit|checkcard|check card|purchase|recurring)\s+(?:purchase\s+)?(?:\d{4}\s+)?)+"
)
# Well-known abbreviations banks print, matched on the whole-word prefix of the cleaned name.
_ALIASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^amzn\s*mktp\b.*"), "amazon marketplace"),
    (re.compile(r"^amazon\s*mktpl?a?c?e?\b.*"), "amazon marketplace"),
    (re.compile(r"^amzn\b.*"), "amazon"),
    (re.compile(r"^wholefds\s*(mkt|market)?\b"), "whole foods market"),
    (re.compile(r"^whole\s*foods(\s+market)?\b"), "whole foods market"),
    (re.compile(r"^wal\s*mart\b|^wm\s+supercenter\b"), "walmart"),
]
_URL = re.compile(r"(?:https?://)?(?:www\.)?((?:[a-z0-9-]+\.)+)(?:com|net|org|io|co|us|tv)(?:/\S*)?")
_HASHNUM = re.compile(r"#\s*\w*\d\w*")
_NOISE = {"inc", "llc", "ltd", "corp", "co"}
_STATES = set(
    "al ak az ar ca co ct de fl ga hi id il in ia ks ky la me md ma mi mn ms mo mt ne nv nh nj nm ny nc "
    "nd oh ok or pa ri sc sd tn tx ut vt va wa wv wi wy dc".split()
)


def _url(match: re.Match[str]) -> str:
    labels = match.group(1).rstrip(".").split(".")
    return " " + labels[-1] + " " if match.start() == 0 else " "


@lru_cache(maxsize=65536)
def legacy_normalize_payee(name: str) -> str:
    """A lowercase key without processor prefixes, store numbers, codes, URLs or punctuation."""
    if not name:
        return ""
    s = name.lower().strip()
    s = _PREFIX.sub("", s)
    s = _URL.sub(_url, s)  # netflix.com -> netflix; "uber *trip help.uber.com" -> "uber *trip"
    s = _HASHNUM.sub(" ", s)
    s = s.replace("'", "").replace("\u2019", "").replace("&", " and " if " & " in s else "")
    s = re.sub(r"[^a-z0-9]+", " ", s).strip()
    for pattern, alias in _ALIASES:
        if pattern.match(s):
            s = pattern.sub(alias, s, count=1)
            if alias.startswith("amazon"):
                return alias
            break
    words = s.split()
    kept = [w for w in words if not any(c.isdigit() for c in w) and w not in _NOISE]
    if len(kept) >= 3 and kept[-1] in _STATES:
        kept.pop()
    if not kept:  # only numbers: keep them rather than return nothing
        kept = words
    return " ".join(kept)


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


class LegacyEngine:
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
            key = legacy_normalize_payee(t.payee_name)
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
        key = legacy_normalize_payee(t.payee_name)
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
