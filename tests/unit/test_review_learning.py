"""Learning from the review: approvals, corrections and hand choices count as history at once; rejections stick."""
from __future__ import annotations

import datetime as dt

import pytest

from budget.connector import Category, Transaction
from models.domain import Budget, Suggestion
from suggestions import decisions
from suggestions.review import BudgetSource, ReviewService
from suggestions.service import SuggestionService

CATEGORIES = [Category("coffee", "Coffee", "Food"), Category("dining", "Dining Out", "Food"),
              Category("books", "Books", "Fun")]


def noop(done, total):
    return None


def tx(tx_id, payee, category=None, day=1):
    return Transaction(id=tx_id, account_id="acct", account_name="Checking", payee_id=f"p-{payee}",
                       payee_name=payee, date=dt.date(2026, 11, day), amount=-450, category_id=category)


class Budgetlike:
    """A connector over a fixed list of transactions (what generate and the review read)."""

    def __init__(self, transactions):
        self.rows = list(transactions)

    def transactions(self):
        return list(self.rows)

    def uncategorized_ids(self):
        return [t.id for t in self.rows if not t.category_id]

    def categories(self):
        return list(CATEGORIES)

    def has_working_copy(self):
        return True

    def close(self):
        pass


@pytest.fixture()
def world(db):
    Budget.create(id="b", name="B", connector="demo", seed=1, options={}, created_at=dt.datetime(2026, 11, 1))
    budget = Budgetlike([
        tx("h1", "Blue Bottle", "dining", 1), tx("h2", "Blue Bottle", "dining", 2),
        tx("a", "Blue Bottle", None, 10), tx("b", "Blue Bottle", None, 11), tx("c", "Blue Bottle", None, 12),
        tx("n1", "Powell's Books", None, 13), tx("n2", "Powell's Books", None, 14),
    ])
    svc = SuggestionService()
    review = ReviewService(BudgetSource(lambda budget_id: Budget.get_by_id(budget_id), lambda b: budget), svc.engine)
    return budget, svc, review


def suggestion_for(tx_id, status=None):
    query = Suggestion.select().where(Suggestion.transaction_id == tx_id)
    if status:
        query = query.where(Suggestion.status == status)
    return query.order_by(Suggestion.created_at.desc()).first()


def test_a_hand_choice_counts_as_history_before_anything_is_applied(world):
    budget, svc, review = world
    svc.generate("b", "j1", budget, noop)
    assert suggestion_for("n1") is None  # a payee nobody categorized yet: nothing to suggest
    review.categorize("b", "n1", "books")
    svc.generate("b", "j2", budget, noop)
    s = suggestion_for("n2")
    assert s.proposed_category_id == "books" and s.status == "pending"


def test_an_approval_counts_as_history_at_once(world):
    budget, svc, review = world
    svc.generate("b", "j1", budget, noop)
    a = suggestion_for("a")
    review.approve([a.id])
    history = decisions.labelled_history("b", budget.transactions())
    assert [t.category_id for t in history if t.id == "a"] == ["dining"]  # weight 1


def test_a_correction_is_the_strongest_signal(world):
    budget, svc, review = world
    svc.generate("b", "j1", budget, noop)
    a, b = suggestion_for("a"), suggestion_for("b")
    assert a.proposed_category_id == b.proposed_category_id == "dining"
    (corrected,) = review.approve([a.id], category_id="coffee")
    assert corrected.status == "approved" and corrected.corrected
    assert corrected.final_category_id == "coffee" and corrected.proposed_category_id == "dining"  # kept for the record
    history = decisions.labelled_history("b", budget.transactions())
    assert [t.category_id for t in history if t.id == "a"] == ["coffee"] * decisions.WEIGHT_CORRECTED
    # "Retry" on the group: one correction (weight 3) outweighs two earlier transactions
    svc.reset_payee_group("b", b.payee_key)
    svc.generate("b", "retry", budget, noop, payee_key=b.payee_key)
    assert suggestion_for("b", "pending").proposed_category_id == "coffee"
    assert suggestion_for("c", "pending").proposed_category_id == "coffee"


def test_a_rejected_category_is_never_proposed_again_for_that_transaction(world):
    budget, svc, review = world
    svc.generate("b", "j1", budget, noop)
    a = suggestion_for("a")
    svc.review([a.id], "rejected")
    svc.generate("b", "j2", budget, noop)
    assert Suggestion.select().where(Suggestion.transaction_id == "a").count() == 1  # a plain run leaves it alone
    svc.reset_payee_group("b", a.payee_key)  # "Retry" on the payee group
    svc.generate("b", "retry", budget, noop, payee_key=a.payee_key)
    assert Suggestion.get_by_id(a.id).status == "rejected"  # the rejection stays
    again = Suggestion.select().where(Suggestion.transaction_id == "a", Suggestion.status == "pending")
    assert [s.proposed_category_id for s in again if s.proposed_category_id == "dining"] == []
    assert suggestion_for("b", "pending").proposed_category_id == "dining"  # others in the group still get it


def test_retry_after_reject_and_correct_uses_every_decision(world):
    budget, svc, review = world
    svc.generate("b", "j1", budget, noop)
    a, b = suggestion_for("a"), suggestion_for("b")
    svc.review([a.id], "rejected")
    review.approve([b.id], category_id="coffee")
    svc.reset_payee_group("b", a.payee_key)
    svc.generate("b", "retry", budget, noop, payee_key=a.payee_key)
    assert suggestion_for("a", "pending").proposed_category_id == "coffee"  # rejected dining, learned coffee
    assert suggestion_for("c", "pending").proposed_category_id == "coffee"


def test_the_uncategorized_list_says_why_there_is_no_suggestion(world):
    budget, svc, review = world
    svc.generate("b", "j1", budget, noop)
    a = suggestion_for("a")
    svc.review([a.id], "rejected")
    listing = review.uncategorized("b")
    why = {t["id"]: t["reason"] for g in listing["groups"] for t in g["transactions"]}
    assert why == {"a": "rejected", "n1": "new_payee", "n2": "new_payee"}
    assert listing["total"] == 3
    books = next(g for g in listing["groups"] if g["payeeName"] == "Powell's Books")
    assert books["reason"] == "new_payee" and "No categorized transaction" in books["why"]
    review.categorize("b", "n1", "books")
    why = {t["id"]: t["reason"] for g in review.uncategorized("b")["groups"] for t in g["transactions"]}
    assert why == {"a": "rejected", "n2": "not_yet"}


def test_categorize_by_hand_checks_the_budget(world):
    from core.errors import Conflict, ValidationFailed

    budget, svc, review = world
    s = review.categorize("b", "n1", "books", create_rule=True)
    assert (s.status, s.origin, s.final_category_name, s.create_rule) == ("approved", "manual", "Books", True)
    with pytest.raises(Conflict):
        review.categorize("b", "n1", "coffee")  # it has an open (approved) suggestion now
    with pytest.raises(Conflict):
        review.categorize("b", "h1", "coffee")  # already categorized in the budget
    with pytest.raises(ValidationFailed):
        review.categorize("b", "nope", "coffee")
    with pytest.raises(ValidationFailed):
        review.categorize("b", "n2", "no-such-category")


def test_approve_with_the_proposed_category_is_a_plain_approval(world):
    budget, svc, review = world
    svc.generate("b", "j1", budget, noop)
    a = suggestion_for("a")
    (s,) = review.approve([a.id], category_id="dining", create_rule=True)
    assert not s.corrected and s.category_id is None and s.create_rule
    (s,) = review.approve([a.id])
    assert s.create_rule  # left as it was
