"""The registry of job types: labels, inputs, steps, kinds, retry policies and time limits; the step types."""
from __future__ import annotations

import random

import pytest

from jobs.inputs import BUDGET_ID, JobInput
from jobs.registry import (SCHEDULED_RETRY, STEP_TYPES, JobType, RetryPolicy, UnknownJobType, default_registry,
                           step_label, step_summary)

TABLE = [
    ("budget_sync", "Sync Budget", ("sync",), "budget-sync"),
    ("suggestions_generate", "Generate Suggestions", ("suggestions",), "suggestions-generate"),
    ("sync_and_suggest", "Sync & Generate Suggestions", ("sync", "suggestions"), "sync-and-suggest"),
    ("suggestions_retry_payee", "Retry Suggestions (Payee Group)", ("suggestions",), "suggestions-retry"),
    ("suggestions_apply", "Apply Approved Suggestions", ("apply", "sync"), "suggestions-apply"),
    ("snapshot_create", "Create Snapshot", ("snapshot",), "snapshot-create"),
    ("snapshot_redownload", "Download Budget Again", ("redownload",), "snapshot-redownload"),
    ("scheduled_sync_and_suggest", "Scheduled Sync & Generate", ("sync", "suggestions"), None),
    ("suggestions_revert", "Undo Apply", ("revert",), "suggestions-revert"),  # issue 12
    ("suggestions_backtest", "Check Suggestion Accuracy", ("backtest",), "suggestions-backtest"),
]


def test_the_types_have_the_labels_and_steps_of_the_issue_tables():
    registry = default_registry()
    assert [(t.name, t.label, t.steps, t.kind) for t in registry.all()] == TABLE
    assert registry.names() == [row[0] for row in TABLE]


@pytest.mark.parametrize("name,label,steps,kind", TABLE, ids=[row[0] for row in TABLE])
def test_get_finds_each_type_by_name(name, label, steps, kind):
    t = default_registry().get(name)
    assert (t.label, t.steps, t.kind, t.user_startable) == (label, steps, kind, kind is not None)


@pytest.mark.parametrize("name,kind", [(r[0], r[3]) for r in TABLE if r[3]])
def test_by_kind_finds_each_user_startable_type(name, kind):
    assert default_registry().by_kind(kind).name == name


def test_the_scheduled_type_cannot_be_started_by_kind():
    registry = default_registry()
    assert not registry.get("scheduled_sync_and_suggest").user_startable
    with pytest.raises(UnknownJobType):
        registry.by_kind("scheduled-sync-and-suggest")


@pytest.mark.parametrize("lookup", ["get", "by_kind"])
def test_unknown_names_and_kinds_raise(lookup):
    with pytest.raises(UnknownJobType):
        getattr(default_registry(), lookup)("nope")


def test_register_adds_a_type_by_name_and_kind():
    registry = default_registry()
    registry.register(JobType("noop", "No-op", ("sync",), "noop"))
    assert registry.get("noop").label == "No-op"
    assert registry.by_kind("noop").name == "noop"
    assert "noop" not in default_registry().names()


def test_with_timeouts_overrides_only_the_named_types_and_keeps_the_original():
    base = default_registry()
    changed = base.with_timeouts({"budget_sync": 0.5})
    assert changed.get("budget_sync").timeout_minutes == 0.5
    assert changed.get("snapshot_create").timeout_minutes == base.get("snapshot_create").timeout_minutes == 30.0
    assert base.get("budget_sync").timeout_minutes == 30.0
    assert changed.by_kind("budget-sync").timeout_minutes == 0.5


def test_default_and_scheduled_retry_policies():
    registry = default_registry()
    assert registry.get("snapshot_create").retry == RetryPolicy(attempts=3, base_seconds=5.0, cap_seconds=300.0)
    assert registry.get("scheduled_sync_and_suggest").retry is SCHEDULED_RETRY
    assert (SCHEDULED_RETRY.attempts, tuple(SCHEDULED_RETRY.fixed_delays)) == (4, (60.0, 300.0, 900.0))


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5, 6, 7, 8, 12])
def test_exponential_delay_is_full_jitter_under_a_capped_ceiling(attempt):
    policy = RetryPolicy(attempts=10, base_seconds=5.0, cap_seconds=300.0)
    ceiling = min(300.0, 5.0 * 2 ** (attempt - 1))
    rng = random.Random(attempt)
    delays = [policy.delay(attempt, rng) for _ in range(2000)]
    assert all(0.0 <= d <= ceiling for d in delays)
    # full jitter spreads over the whole range, not just near the ceiling
    assert min(delays) < ceiling * 0.05 and max(delays) > ceiling * 0.95


def test_exponential_ceilings_double_until_the_cap():
    class Top(random.Random):
        def uniform(self, a, b):
            return b

    policy = RetryPolicy(base_seconds=5.0, cap_seconds=300.0)
    assert [policy.delay(n, Top()) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]


@pytest.mark.parametrize("attempt,base", [(1, 60.0), (2, 300.0), (3, 900.0), (4, 900.0), (9, 900.0)])
def test_scheduled_delays_are_fixed_plus_at_most_20_percent_jitter(attempt, base):
    rng = random.Random(attempt)
    delays = [SCHEDULED_RETRY.delay(attempt, rng) for _ in range(2000)]
    assert all(base <= d <= base * 1.2 for d in delays)
    assert min(delays) < base * 1.01 and max(delays) > base * 1.19


def test_scaled_policies_keep_their_shape():
    fast = RetryPolicy(base_seconds=5.0, cap_seconds=300.0).scaled(0.05)
    assert (fast.base_seconds, fast.cap_seconds) == (0.05, pytest.approx(3.0))
    fast_scheduled = SCHEDULED_RETRY.scaled(0.6)
    assert fast_scheduled.attempts == 4
    assert list(fast_scheduled.fixed_delays) == [pytest.approx(0.6), pytest.approx(3.0), pytest.approx(9.0)]
    assert RetryPolicy().scaled(None) == RetryPolicy()


def test_with_retry_base_scales_every_type():
    registry = default_registry().with_retry_base(0.1)
    assert registry.get("snapshot_create").retry.base_seconds == 0.1
    assert registry.get("scheduled_sync_and_suggest").retry.fixed_delays[0] == pytest.approx(0.1)
    assert default_registry().with_retry_base(None).get("snapshot_create").retry.base_seconds == 5.0
    assert registry.get("suggestions_apply").retry.fixed_delays[0] == pytest.approx(0.1)


@pytest.mark.parametrize("name", ["budget_sync", "sync_and_suggest", "suggestions_apply", "snapshot_redownload"])
def test_sync_and_apply_outlast_a_server_restart_on_the_scheduled_schedule(name):
    """Issue 16 item 5: about 1, 5 and 15 minutes with jitter, like the scheduled job."""
    assert default_registry().get(name).retry is SCHEDULED_RETRY


@pytest.mark.parametrize("name", ["suggestions_generate", "suggestions_retry_payee", "snapshot_create"])
def test_jobs_that_never_reach_the_server_keep_three_quick_attempts(name):
    assert default_registry().get(name).retry == RetryPolicy()


# ------------------------------------------------------------------ inputs and step declarations
def test_every_startable_type_takes_the_budget_first_and_declares_its_other_inputs():
    inputs = {t.kind: [(i.name, i.type, i.required) for i in t.inputs] for t in default_registry().all() if t.kind}
    assert all(names[0] == ("budgetId", "string", True) for names in inputs.values())
    assert inputs["sync-and-suggest"][1:] == [("fullResync", "boolean", False)]
    assert inputs["suggestions-retry"][1:] == [("suggestionId", "string", True)]
    assert inputs["suggestions-apply"][1:] == [("suggestionIds", "ids", True)]
    assert inputs["suggestions-revert"][1:] == [("applyJobId", "string", True)]
    assert [k for k, names in inputs.items() if len(names) > 1] == [
        "sync-and-suggest", "suggestions-retry", "suggestions-apply", "suggestions-revert"]


def test_a_type_made_of_existing_steps_is_one_entry_with_the_budget_as_its_input():
    noop = JobType("noop", "No-op", ("sync",), "noop")
    assert [i.name for i in noop.inputs] == ["budgetId"] and not noop.primary
    assert noop.input("budgetId") is BUDGET_ID and noop.input("fullResync") is None


def test_an_input_of_an_unknown_type_is_refused():
    with pytest.raises(ValueError, match="type"):
        JobInput("when", "date")


def test_every_step_of_every_type_is_declared_with_a_label():
    declared = {s.name for s in STEP_TYPES}
    assert {step for t in default_registry().all() for step in t.steps} <= declared
    assert [step_label(s) for s in ("sync", "suggestions", "apply", "snapshot", "redownload")] == [
        "Sync transactions", "Generate suggestions", "Apply suggestions", "Create snapshot", "Download the budget again"]
    assert step_label("noop") == "noop"


@pytest.mark.parametrize("step,result,sentence", [
    ("sync", {"new": 3, "changed": 1, "total": 1234, "full": False}, "3 new transactions, 1 changed (1,234 in total)"),
    ("sync", {"new": 1, "changed": 0}, "1 new transaction, 0 changed"),
    ("suggestions", {"suggested": 12, "skipped": 2, "considered": 14},
     "12 suggestions, 2 skipped (14 transactions considered)"),
    ("suggestions", {"suggested": 1, "skipped": 0}, "1 suggestion, 0 skipped"),
    ("suggestions", {"suggested": 5, "skipped": 4, "considered": 9, "minConfidence": 0.6,
                     "heldBack": {"below_min_confidence": 3, "no_usable_history": 1}},
     "5 suggestions, 4 skipped (9 transactions considered); held back: 3 below the minimum confidence 0.6, "
     "1 without usable history"),
    ("apply", {"applied": 1, "skipped": 0, "skippedTransactions": {}}, "1 category applied, 0 skipped"),
    ("apply", {"applied": 5, "skipped": 3, "skippedTransactions": {
        "t1": "deleted on the server", "t2": "already categorized on the server", "t3": "deleted on the server"}},
     "5 categories applied, 3 skipped: 2 deleted on the server, 1 already categorized on the server"),
    ("snapshot", {"snapshotId": "s-1", "transactions": 120, "categories": 14, "sizeBytes": 49152},
     "Snapshot s-1: 120 transactions, 14 categories, 48.0 KB"),
    ("redownload", {"transactions": 120, "droppedSuggestions": 1},
     "120 transactions downloaded again, 1 outdated suggestion dropped"),
    ("noop", {"done": True, "count": 2, "nested": {"x": 1}}, "Done: true, count: 2"),
    ("sync", {"unexpected": "shape"}, "Unexpected: shape"),
])
def test_each_step_result_reads_as_one_sentence(step, result, sentence):
    assert step_summary(step, result) == sentence


@pytest.mark.parametrize("result", [None, {}, "not a result"])
def test_a_step_without_a_result_has_no_summary(result):
    assert step_summary("sync", result) is None
