"""The reviewer's decisions as history for the next suggestions: approvals, corrections, hand choices, rejections.

Called by whatever reads the history for the engine (SuggestionService.generate today); it touches
no engine internals, so an engine that reads history as labelled transactions gets the decisions too:
- `labelled_history(budget_id, transactions)`: the budget's categorized transactions plus every
  decided one (approved, corrected, chosen by hand, applied) with the decided category, at once,
  before anything is applied. A decision weighs more than one plain transaction: it is repeated
  `weight` times (approved 1, chosen by hand 2, corrected 3: a correction is the strongest signal).
- `rejected_pairs(budget_id)`: (transaction id, category id) pairs a reviewer rejected;
  `drop_rejected` removes proposals that would bring one back.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterable, Sequence, TypeVar

from budget.connector import Transaction
from models.domain import Suggestion

WEIGHT_APPROVED = 1
WEIGHT_MANUAL = 2
WEIGHT_CORRECTED = 3
DECIDED_STATUSES = ("approved", "applied")


@dataclass(frozen=True)
class Decision:
    """A reviewer's category for one transaction and how much it counts."""

    transaction_id: str
    category_id: str
    kind: str  # approved | corrected | manual
    weight: int


def decision_of(s: Suggestion) -> Decision:
    """What an approved or applied suggestion says about its transaction."""
    if s.origin == "manual":
        return Decision(s.transaction_id, s.final_category_id, "manual", WEIGHT_MANUAL)
    if s.corrected:
        return Decision(s.transaction_id, s.final_category_id, "corrected", WEIGHT_CORRECTED)
    return Decision(s.transaction_id, s.final_category_id, "approved", WEIGHT_APPROVED)


def decisions(budget_id: str) -> dict[str, Decision]:
    """transaction id -> the latest decision on it (approved or applied suggestions)."""
    rows = (Suggestion.select().where(Suggestion.budget_id == budget_id, Suggestion.status.in_(DECIDED_STATUSES))
            .order_by(Suggestion.updated_at, Suggestion.id))
    return {s.transaction_id: decision_of(s) for s in rows}


def labelled_history(budget_id: str, transactions: Iterable[Transaction]) -> list[Transaction]:
    """Categorized transactions plus decided ones, each decision repeated by its weight."""
    decided = decisions(budget_id)
    history: list[Transaction] = []
    for t in transactions:
        d = decided.get(t.id)
        if d is None:
            if t.category_id:
                history.append(t)
            continue
        if t.category_id and t.category_id != d.category_id:
            history.append(t)  # someone categorized it otherwise at the source since: theirs counts
            continue
        labelled = t if t.category_id == d.category_id else dataclasses.replace(t, category_id=d.category_id)
        history.extend([labelled] * d.weight)
    return history


def rejected_pairs(budget_id: str) -> set[tuple[str, str]]:
    """(transaction id, category id) pairs a reviewer rejected: never proposed again for that transaction."""
    rows = (Suggestion.select(Suggestion.transaction_id, Suggestion.proposed_category_id)
            .where(Suggestion.budget_id == budget_id, Suggestion.status == "rejected").tuples())
    return {(tx, cat) for tx, cat in rows}


P = TypeVar("P")


def drop_rejected(proposals: Sequence[P], rejected: set[tuple[str, str]]) -> tuple[list[P], list[P]]:
    """(kept, dropped): proposals whose (transaction_id, category_id) a reviewer rejected are dropped."""
    kept, dropped = [], []
    for p in proposals:
        (dropped if (p.transaction_id, p.category_id) in rejected else kept).append(p)
    return kept, dropped
