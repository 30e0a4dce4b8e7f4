import datetime as dt
from collections import Counter, defaultdict

import pytest

from budget import demo_data
from suggestions.normalize import normalize_payee


@pytest.fixture(scope="module")
def budget():
    return demo_data.generate_budget(42)


def test_generation_is_deterministic_per_seed(budget):
    assert demo_data.generate_budget(42) == budget
    assert demo_data.generate_budget(43).transactions != budget.transactions


def test_sizes_and_shape(budget):
    assert len(budget.accounts) >= 3
    assert {"Everyday Checking", "High-Yield Savings", "Rewards Visa"} <= {a.name for a in budget.accounts}
    assert len(budget.categories) >= 20
    groups = {c.group_name for c in budget.categories}
    assert {"Bills", "Food", "Transport", "Shopping", "Entertainment", "Health", "Income"} <= groups
    assert len(budget.payees) >= 60
    assert 2700 <= len(budget.transactions) <= 3300


def test_history_is_categorized_twelve_months_ending_at_anchor(budget):
    dates = [t.date for t in budget.transactions]
    assert max(dates) <= demo_data.ANCHOR_DATE
    assert min(dates) >= demo_data.ANCHOR_DATE - dt.timedelta(days=365)
    assert len({(d.year, d.month) for d in dates}) >= 12
    category_ids = {c.id for c in budget.categories}
    assert all(t.category_id in category_ids for t in budget.transactions)
    assert all(isinstance(t.amount, int) and t.amount != 0 for t in budget.transactions)
    assert any(t.amount > 0 for t in budget.transactions)  # salary, interest
    assert len({t.id for t in budget.transactions}) == len(budget.transactions)
    account_ids = {a.id for a in budget.accounts}
    assert all(t.account_id in account_ids for t in budget.transactions)


def test_statement_names_vary_but_normalise_to_few_keys(budget):
    names_by_payee = defaultdict(set)
    for t in budget.transactions:
        names_by_payee[t.payee_id].add(t.payee_name)
    assert names_by_payee["payee-wholefoods"] and len(names_by_payee["payee-wholefoods"]) > 1
    assert any(n.startswith("AMZN Mktp US*") for n in names_by_payee["payee-amazon-mktp"])
    assert {normalize_payee(n) for n in names_by_payee["payee-wholefoods"]} == {"whole foods market"}
    assert {normalize_payee(n) for n in names_by_payee["payee-amazon-mktp"]} == {"amazon marketplace"}


def test_some_payees_are_split_between_two_categories(budget):
    cats = defaultdict(Counter)
    for t in budget.transactions:
        cats[t.payee_id][t.category_id] += 1
    split = [p for p, c in cats.items() if len(c) == 2]
    assert len(split) >= 3


def test_next_batch_sizes_dates_and_determinism():
    previous_last = demo_data.ANCHOR_DATE
    seen = set()
    for n in range(1, 31):
        batch = demo_data.next_batch(42, n)
        assert 10 <= len(batch) <= 40
        assert batch == demo_data.next_batch(42, n)
        assert all(t.category_id is None for t in batch)
        first, last = demo_data.batch_window(n)
        assert first > previous_last
        assert all(first <= t.date <= last for t in batch)
        previous_last = last
        ids = {t.id for t in batch}
        assert not ids & seen
        seen |= ids
    assert demo_data.next_batch(42, 1) != demo_data.next_batch(7, 1)


def test_batches_keep_working_far_out_and_include_unseen_payees():
    far = demo_data.next_batch(42, 5000)
    assert 10 <= len(far) <= 40
    known = {p.id for p in demo_data.PAYEES}
    novel = [t for n in range(1, 21) for t in demo_data.next_batch(42, n) if t.payee_id not in known]
    assert novel


def test_batch_number_starts_at_one():
    with pytest.raises(ValueError):
        demo_data.next_batch(1, 0)


def test_known_merchants_under_new_spellings_are_placed_by_the_model_alone():
    """The demo shows the learned model at work: payees no earlier transaction had, which only it can place."""
    import warnings

    from suggestions.baselines import LastCategoryBaseline
    from suggestions.engine import SuggestionEngine
    from suggestions.features import payee_key

    budget = demo_data.generate_budget(42)
    seen = {payee_key(t) for t in budget.transactions}
    by_id = {p.id: p for p in demo_data.NOVEL_PAYEES}
    variants = [t for n in range(1, 21) for t in demo_data.next_batch(42, n)
                if t.payee_id in by_id and by_id[t.payee_id].key in demo_data.SPELLING_VARIANTS]
    assert len(variants) >= 10 and len({t.payee_id for t in variants}) >= 6
    assert any(t.payee_id in by_id and by_id[t.payee_id].key in demo_data.SPELLING_VARIANTS
               for n in (1, 2) for t in demo_data.next_batch(42, n))  # the first syncs already show one
    assert not {payee_key(t) for t in variants} & seen
    for key, merchant in demo_data.SPELLING_VARIANTS.items():
        assert by_id[f"payee-{key}"].categories == demo_data.PAYEE_BY_KEY[merchant].categories
    truth = {t.id: demo_data.CATEGORY_BY_NAME[by_id[t.payee_id].categories[0][0]].id for t in variants}
    assert LastCategoryBaseline().propose(budget.transactions, variants, budget.categories).proposals == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = SuggestionEngine().propose(budget.transactions, variants, budget.categories)
    right = [p for p in result.proposals if p.category_id == truth[p.transaction_id]]
    assert all(p.source == "model" for p in result.proposals)
    assert len(right) >= 0.9 * len(variants)
    assert all(p.rationale.startswith("Looks like '") for p in right)
