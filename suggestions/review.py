"""Review beyond yes/no: correct a suggestion to any category, categorize by hand, ask for a rule, list what has none.

Reads the budget's categories and transactions from its working copy (the connector), so a
category or transaction id a reviewer sends is checked against the budget, not trusted.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from budget.connector import Category, Connector, ConnectorError, Transaction
from core.clock import Clock, utcnow
from core.errors import Conflict, InvalidTransition, Unavailable, ValidationFailed
from models.db import write_transaction
from models.domain import Budget, Suggestion
from suggestions import decisions
from suggestions.engine import SuggestionEngine
from suggestions.normalize import normalize_payee

APPROVABLE = ("pending", "approved", "rejected")
MANUAL_RATIONALE = "Chosen by hand"

# Why an uncategorized transaction has no suggestion (the `reason` code and the sentence people read).
WHY_REJECTED = "rejected"
WHY_NO_PAYEE = "no_payee"
WHY_NEW_PAYEE = "new_payee"
WHY_UNSURE = "unsure"
WHY_NOT_YET = "not_yet"


@dataclass(frozen=True)
class BudgetSource:
    """Opens a budget's connector: what the review needs from budget/ (the budget row and its working copy)."""

    get_budget: Callable[[str], Budget]
    open: Callable[[Budget], Connector]


class ReviewService:
    """Approve with the reviewer's category, categorize by hand, and explain the transactions without a suggestion."""

    def __init__(self, source: BudgetSource, engine: Optional[SuggestionEngine] = None, *, clock: Clock = utcnow,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self.source = source
        self.engine = engine or SuggestionEngine()
        self.clock = clock
        self.new_id = new_id

    @contextmanager
    def _connector(self, budget_id: str) -> Iterator[Connector]:
        """The budget's working copy for reading; never made here (that is a sync's work, in the worker)."""
        connector = self.source.open(self.source.get_budget(budget_id))
        try:
            if not connector.has_working_copy():
                raise Conflict("This budget has no local copy yet; run a sync first.", code="no_working_copy")
            yield connector
        except ConnectorError as exc:
            raise Unavailable(exc.message, code=exc.code) from None
        finally:
            connector.close()

    # ------------------------------------------------------------- categories
    def categories(self, budget_id: str) -> list[Category]:
        """The budget's categories (not hidden, not deleted), in the budget's group order."""
        with self._connector(budget_id) as connector:
            return connector.categories()

    def _category(self, budget_id: str, category_id: str) -> Category:
        found = next((c for c in self.categories(budget_id) if c.id == category_id), None)
        if found is None:
            raise ValidationFailed(f"Unknown category id {category_id!r} for this budget.", field="categoryId",
                                   code="unknown_category")
        return found

    # ---------------------------------------------------------------- approve
    def approve(self, suggestion_ids: list[str], category_id: Optional[str] = None,
                create_rule: Optional[bool] = None) -> list[Suggestion]:
        """Approve suggestions (one, or a payee group); with `category_id` they are corrected to it.

        A corrected suggestion keeps its proposed category for the record. `create_rule` asks the
        apply to teach the budget "payee -> category"; None leaves each suggestion's wish as it was.
        """
        rows = list(Suggestion.select().where(Suggestion.id.in_(suggestion_ids)))
        found = {s.id: s for s in rows}
        missing = [i for i in suggestion_ids if i not in found]
        if missing:
            raise ValidationFailed(f"Unknown suggestion id {missing[0]!r}.", field="suggestionIds",
                                   code="unknown_suggestion")
        budgets = {s.budget_id for s in rows}
        if len(budgets) > 1:
            raise ValidationFailed("The suggestions belong to different budgets.", field="suggestionIds")
        category = self._category(budgets.pop(), category_id) if category_id else None
        now = self.clock()
        with write_transaction():
            for s in Suggestion.select().where(Suggestion.id.in_(suggestion_ids)):
                if s.status not in APPROVABLE:
                    raise InvalidTransition(f"Suggestion {s.id} is {s.status} and cannot become approved.")
                if s.status == "rejected" and Suggestion.select().where(
                        Suggestion.budget_id == s.budget_id, Suggestion.transaction_id == s.transaction_id,
                        Suggestion.open == True, Suggestion.id != s.id).exists():  # noqa: E712
                    raise Conflict(f"The transaction of suggestion {s.id} has a newer open suggestion; review that one.",
                                   field="suggestionIds", code="has_suggestion")
                changes: dict = {"status": "approved", "open": True, "updated_at": now}
                if category is not None:
                    same = category.id == s.proposed_category_id and s.origin != "manual"
                    changes["category_id"] = None if same else category.id
                    changes["category_name"] = None if same else category.name
                if create_rule is not None:
                    changes["create_rule"] = create_rule
                if s.status == "approved" and len(changes) == 3:
                    continue  # approving an approved suggestion again changes nothing
                Suggestion.update(**changes).where(Suggestion.id == s.id).execute()
        return [Suggestion.get_by_id(i) for i in suggestion_ids]

    # ------------------------------------------------------------- by hand
    def categorize(self, budget_id: str, transaction_id: str, category_id: str, create_rule: bool = False) -> Suggestion:
        """An approved suggestion chosen by hand for an uncategorized transaction that has no open one."""
        with self._connector(budget_id) as connector:
            categories = {c.id: c for c in connector.categories()}
            tx = next((t for t in connector.transactions() if t.id == transaction_id), None)
        if tx is None:
            raise ValidationFailed(f"Unknown transaction id {transaction_id!r} for this budget.",
                                   field="transactionId", code="unknown_transaction")
        if tx.category_id:
            raise Conflict("This transaction already has a category in the budget.", field="transactionId",
                           code="already_categorized")
        category = categories.get(category_id)
        if category is None:
            raise ValidationFailed(f"Unknown category id {category_id!r} for this budget.", field="categoryId",
                                   code="unknown_category")
        now = self.clock()
        suggestion_id = self.new_id()
        with write_transaction():
            open_one = Suggestion.get_or_none(Suggestion.budget_id == budget_id,
                                              Suggestion.transaction_id == transaction_id,
                                              Suggestion.status.in_(("pending", "approved")))
            if open_one is not None:
                raise Conflict(f"This transaction already has a {open_one.status} suggestion ({open_one.id}); "
                               "approve it with a category instead.", field="transactionId", code="has_suggestion")
            Suggestion.create(
                id=suggestion_id, budget_id=budget_id, transaction_id=tx.id, payee_name=tx.payee_name,
                payee_key=normalize_payee(tx.payee_name) or tx.payee_name.lower(), amount=tx.amount, date=tx.date,
                account_name=tx.account_name, proposed_category_id=category.id, proposed_category_name=category.name,
                confidence=1.0, rationale=MANUAL_RATIONALE, status="approved", job_id=None, created_at=now,
                updated_at=now, open=True, origin="manual", category_id=category.id, category_name=category.name,
                create_rule=create_rule, payee_id=tx.payee_id, account_id=tx.account_id)
        return Suggestion.get_by_id(suggestion_id)

    # ----------------------------------------------------- without a suggestion
    def uncategorized(self, budget_id: str) -> dict:
        """Uncategorized transactions without an open suggestion, grouped by payee, each group saying why."""
        try:
            with self._connector(budget_id) as connector:
                transactions = connector.transactions()
                categories = connector.categories()
        except Conflict:  # not synced yet: nothing to list
            return {"budgetId": budget_id, "total": 0, "groups": []}
        names = {c.id: c.name for c in categories}
        taken = {tx for (tx,) in Suggestion.select(Suggestion.transaction_id).where(
            Suggestion.budget_id == budget_id, Suggestion.status.in_(("pending", "approved", "applied"))).tuples()}
        targets = sorted((t for t in transactions if not t.category_id and t.id not in taken),
                         key=lambda t: (t.date, t.id), reverse=True)  # newest first within each payee
        rejected: dict[str, list[str]] = {}
        for tx, cat in decisions.rejected_pairs(budget_id):
            rejected.setdefault(tx, []).append(names.get(cat, cat))
        history = decisions.labelled_history(budget_id, transactions)
        known = {normalize_payee(t.payee_name) for t in history}
        fresh = [t for t in targets if t.id not in rejected]
        outcome = self.engine.propose(history, fresh, categories, budget_id=budget_id) if fresh else None
        would = {p.transaction_id: p for p in outcome.proposals} if outcome else {}
        groups: dict[str, dict] = {}
        for t in targets:
            key = normalize_payee(t.payee_name) or t.payee_name.lower()
            reason, why = self._why(t, rejected.get(t.id), known, would.get(t.id))
            group = groups.setdefault(key, {"payeeKey": key, "payeeName": t.payee_name, "transactions": [],
                                            "reasons": {}})
            group["transactions"].append(transaction_dict(t, reason, why))
            group["reasons"][reason] = why
        rows = sorted(groups.values(), key=lambda g: (-len(g["transactions"]), g["payeeKey"]))
        for g in rows:
            g["reason"], g["why"] = next(iter(g["reasons"].items()))
            g["reasons"] = [{"reason": r, "why": w} for r, w in g["reasons"].items()]
        return {"budgetId": budget_id, "total": len(targets), "groups": rows}

    @staticmethod
    def _why(t: Transaction, rejected: Optional[list[str]], known: set, would) -> tuple[str, str]:
        if rejected:
            return WHY_REJECTED, f"You rejected {', '.join(sorted(rejected))}; pick a category or retry the group."
        key = normalize_payee(t.payee_name)
        if not key:
            return WHY_NO_PAYEE, "No payee to learn from."
        if would is not None:
            return WHY_NOT_YET, f"Not looked at yet: the next suggestion run will propose {would.category_name}."
        if key not in known:
            return WHY_NEW_PAYEE, "No categorized transaction from this payee yet."
        return WHY_UNSURE, "Earlier transactions from this payee disagree too much to suggest one category."


def transaction_dict(t: Transaction, reason: str, why: str) -> dict:
    """An uncategorized transaction as the API shows it."""
    return {"id": t.id, "date": t.date.isoformat(), "payeeName": t.payee_name, "payeeId": t.payee_id,
            "amount": t.amount, "accountId": t.account_id, "accountName": t.account_name, "notes": t.notes,
            "reason": reason, "why": why}


def category_groups(categories: list[Category]) -> list[dict]:
    """Categories grouped by category group, in the budget's order."""
    groups: dict[str, dict] = {}
    for c in categories:
        groups.setdefault(c.group_name, {"name": c.group_name, "categories": []})["categories"].append(
            {"id": c.id, "name": c.name})
    return list(groups.values())
