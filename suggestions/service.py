"""Suggestions: generated from the engine, reviewed by people, applied by jobs."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Callable, Iterable, Mapping, Optional, Union

from budget.connector import Connector, Progress
from core.clock import Clock, isoformat, utcnow
from core.errors import InvalidTransition, NotFound, ValidationFailed
from models.db import insert_ignoring, write_transaction
from models.domain import Suggestion
from suggestions import decisions
from suggestions.accuracy_report import report
from suggestions.backtest import backtest
from suggestions.engine import SuggestionEngine
from suggestions.normalize import normalize_payee

OPEN_STATUSES = ("pending", "approved")
REVIEW_TRANSITIONS = {"pending": {"approved", "rejected"}, "approved": {"pending", "rejected"},
                      "rejected": {"approved", "pending"}}
INSERT_BATCH = 200
SKIPPED_WITHOUT_REASON = "the budget changed before it could be applied"


class SuggestionService:
    """Generates, lists and reviews suggestions."""

    def __init__(self, engine: Optional[SuggestionEngine] = None, *, clock: Clock = utcnow,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self.engine = engine or SuggestionEngine()
        self.clock = clock
        self.new_id = new_id

    # ----------------------------------------------------------------- generate
    def generate(self, budget_id: str, job_id: str, connector: Connector, progress: Progress,
                 payee_key: Optional[str] = None) -> dict:
        """Propose a category for every uncategorized transaction without an open or rejected suggestion.

        Every review decision counts as history at once (suggestions/decisions.py). A payee group's
        retry (`payee_key`) also reconsiders its rejected transactions, never with a rejected category.
        """
        skip_statuses = ("pending", "approved", "applied") if payee_key is not None else ("pending", "approved", "applied", "rejected")
        seen = {tx for (tx,) in Suggestion.select(Suggestion.transaction_id)
                .where(Suggestion.budget_id == budget_id, Suggestion.status.in_(skip_statuses)).tuples()}
        if payee_key is None and all(tx in seen for tx in connector.uncategorized_ids()):
            # nothing to propose: neither the history nor the model is needed (a warm sync with nothing new)
            progress(1, 1)
            return {"suggested": 0, "skipped": 0, "considered": 0, "heldBack": {},
                    "minConfidence": self.engine.min_confidence}
        transactions = connector.transactions()
        history = decisions.labelled_history(budget_id, transactions)
        targets = [t for t in transactions if not t.category_id and t.id not in seen]
        if payee_key is not None:
            targets = [t for t in targets if normalize_payee(t.payee_name) == payee_key]
        outcome = self.engine.propose(history, targets, connector.categories(), progress, budget_id=budget_id)
        proposals, dropped = decisions.drop_rejected(outcome.proposals, decisions.rejected_pairs(budget_id))
        by_id = {t.id: t for t in targets}
        now = self.clock()
        rows = []
        for p in proposals:
            t = by_id[p.transaction_id]
            rows.append({
                "id": self.new_id(), "budget_id": budget_id, "transaction_id": t.id,
                "payee_name": t.payee_name, "payee_key": normalize_payee(t.payee_name) or t.payee_name.lower(),
                "amount": t.amount, "date": t.date, "account_name": t.account_name,
                "proposed_category_id": p.category_id, "proposed_category_name": p.category_name,
                "confidence": round(p.confidence, 4), "rationale": p.rationale, "status": "pending",
                "job_id": job_id, "created_at": now, "updated_at": now, "open": True,
                "payee_id": t.payee_id, "account_id": t.account_id,
            })
        inserted = 0
        for i in range(0, len(rows), INSERT_BATCH):
            with write_transaction():
                # the unique (budget, transaction, open) index makes a re-run after a crash add nothing twice
                inserted += insert_ignoring(Suggestion, rows[i:i + INSERT_BATCH])
        result = {"suggested": inserted, "skipped": len(outcome.skipped) + len(dropped), "considered": len(targets),
                  "heldBack": dict(outcome.held_back), "minConfidence": self.engine.min_confidence}
        if outcome.llm is not None:
            result["llm"] = outcome.llm
        return result

    def backtest(self, connector: Connector, progress: Progress, split: float = 0.7) -> dict:
        """Replay the budget's categorized history: train on the earliest `split`, suggest for the rest, score
        beside "last category used for this payee" (see suggestions/backtest.py and accuracy_report.py)."""
        history = [t for t in connector.transactions() if t.category_id]
        figures = backtest(history, connector.categories(), split=split, engine=self.engine, progress=progress,
                           baselines=("last_category",))
        return report(figures)

    def reset_payee_group(self, budget_id: str, payee_key: str) -> int:
        """Drop the group's pending suggestions so a retry can propose them again; rejections stay (they stick)."""
        with write_transaction():
            return (Suggestion.delete().where(Suggestion.budget_id == budget_id, Suggestion.payee_key == payee_key,
                                              Suggestion.status == "pending").execute())

    def drop_stale(self, budget_id: str, connector: Connector) -> int:
        """Delete open suggestions whose transaction is gone or already categorized."""
        uncategorized = {t.id for t in connector.transactions() if not t.category_id}
        stale = [s.id for s in Suggestion.select(Suggestion.id, Suggestion.transaction_id)
                 .where(Suggestion.budget_id == budget_id, Suggestion.status.in_(OPEN_STATUSES))
                 if s.transaction_id not in uncategorized]
        with write_transaction():
            for i in range(0, len(stale), 500):
                Suggestion.delete().where(Suggestion.id.in_(stale[i:i + 500])).execute()
        return len(stale)

    # ------------------------------------------------------------------- review
    def get(self, suggestion_id: str) -> Suggestion:
        """The suggestion with this id, or NotFound."""
        s = Suggestion.get_or_none(Suggestion.id == suggestion_id)
        if s is None:
            raise NotFound(f"No suggestion with id {suggestion_id}.")
        return s

    def get_or_none(self, suggestion_id: str) -> Optional[Suggestion]:
        """The suggestion with this id, or None."""
        return Suggestion.get_or_none(Suggestion.id == suggestion_id)

    def review(self, suggestion_ids: list[str], status: str) -> list[Suggestion]:
        """Approve or reject suggestions (one, or a payee group) in one transaction."""
        with write_transaction():
            found = {s.id: s for s in Suggestion.select().where(Suggestion.id.in_(suggestion_ids))}
            missing = [i for i in suggestion_ids if i not in found]
            if missing:
                raise ValidationFailed(f"Unknown suggestion id {missing[0]!r}.", field="suggestionIds")
            now = self.clock()
            for s in found.values():
                if s.status == status:
                    continue
                if status not in REVIEW_TRANSITIONS.get(s.status, ()):
                    raise InvalidTransition(f"Suggestion {s.id} is {s.status} and cannot become {status}.")
                is_open = True if status in OPEN_STATUSES else None
                Suggestion.update(status=status, updated_at=now, open=is_open).where(Suggestion.id == s.id).execute()
        return [Suggestion.get_by_id(i) for i in suggestion_ids]

    def list(self, budget_id: Optional[str] = None, status: Optional[str] = None, limit: int = 2000) -> list[dict]:
        """Suggestions grouped by payee (payee key, then date), newest generation first within a payee."""
        query = Suggestion.select()
        if budget_id:
            query = query.where(Suggestion.budget_id == budget_id)
        if status:
            query = query.where(Suggestion.status == status)
        rows = query.order_by(Suggestion.payee_key, Suggestion.date.desc(), Suggestion.id).limit(limit)
        return [suggestion_dict(s) for s in rows]

    # -------------------------------------------------------------------- apply
    def approved(self, budget_id: str, ids: Optional[Iterable[str]] = None) -> list[Suggestion]:
        """Approved suggestions of the budget (limited to `ids` when given)."""
        query = Suggestion.select().where(Suggestion.budget_id == budget_id, Suggestion.status == "approved")
        if ids is not None:
            query = query.where(Suggestion.id.in_(list(ids)))
        return list(query)

    def check_approved(self, budget_id: str, ids: list[str]) -> None:
        """ValidationFailed unless every id is an approved suggestion of the budget."""
        found = {s.id: s for s in Suggestion.select().where(Suggestion.id.in_(ids))}
        for i in ids:
            s = found.get(i)
            if s is None or s.budget_id != budget_id:
                raise ValidationFailed(f"Unknown suggestion id {i!r} for this budget.", field="suggestionIds")
            if s.status != "approved":
                raise ValidationFailed(f"Suggestion {i!r} is {s.status}, not approved.", field="suggestionIds")

    def mark_applied(self, ids: list[str]) -> None:
        """Record that the budget accepted these suggestions."""
        now = self.clock()
        with write_transaction():
            for i in range(0, len(ids), 500):
                (Suggestion.update(status="applied", open=None, updated_at=now)
                 .where(Suggestion.id.in_(ids[i:i + 500]), Suggestion.status == "approved").execute())

    def mark_skipped(self, skipped: Union[Mapping[str, str], list[str]]) -> None:
        """Suggestions an apply left alone because the budget changed (id -> why): skipped, never overwritten.

        Their own status, not a person's 'rejected'; a transaction still uncategorized may be suggested again.
        """
        reasons = dict(skipped) if isinstance(skipped, Mapping) else dict.fromkeys(skipped, SKIPPED_WITHOUT_REASON)
        now = self.clock()
        by_reason: dict[str, list[str]] = {}
        for suggestion_id, reason in reasons.items():
            by_reason.setdefault(reason or SKIPPED_WITHOUT_REASON, []).append(suggestion_id)
        with write_transaction():
            for reason, ids in by_reason.items():
                for i in range(0, len(ids), 500):
                    (Suggestion.update(status="skipped", skip_reason=reason[:500], open=None, updated_at=now)
                     .where(Suggestion.id.in_(ids[i:i + 500]), Suggestion.status == "approved").execute())

    def drop_budget(self, budget_id: str) -> int:
        """Delete every suggestion of a budget (it is being removed here); return how many."""
        with write_transaction():
            return Suggestion.delete().where(Suggestion.budget_id == budget_id).execute()


def suggestion_dict(s: Suggestion) -> dict:
    """A suggestion as the API shows it."""
    date = s.date.isoformat() if isinstance(s.date, dt.date) else str(s.date)
    return {
        "id": s.id, "budgetId": s.budget_id, "transactionId": s.transaction_id, "payeeName": s.payee_name,
        "payeeKey": s.payee_key, "amount": s.amount, "date": date, "accountName": s.account_name,
        "proposedCategoryId": s.proposed_category_id, "proposedCategoryName": s.proposed_category_name,
        "confidence": s.confidence, "rationale": s.rationale, "status": s.status, "jobId": s.job_id,
        "createdAt": isoformat(s.created_at), "skipReason": s.skip_reason,
        "categoryId": s.final_category_id, "categoryName": s.final_category_name, "origin": s.origin,
        "corrected": s.corrected, "createRule": bool(s.create_rule), "accountId": s.account_id,
        "payeeId": s.payee_id, "updatedAt": isoformat(s.updated_at),
    }
