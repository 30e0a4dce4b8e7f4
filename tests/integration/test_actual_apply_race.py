"""Issue 16 item 3: a second client racing an apply never loses its edit. Against a real Actual sync server of
its own (one per module): the eight rounds make enough requests to reach the server's per-address rate limit
if they shared a server with the other safety tests."""
from __future__ import annotations

import threading

import pytest

from budget.actual import ActualConnector
from budget.actual.rules import SKIP_CATEGORIZED, SKIP_CHANGED
from tests.support.actual_fixtures import OtherClient, server_state

pytestmark = [pytest.mark.actual, pytest.mark.integration]


def no_progress(done: int, total: int) -> None:
    """No progress reporting."""


def test_a_second_client_racing_the_apply_never_loses_its_edit(actual_server, actual_session, seed_budget, tmp_path):
    b = seed_budget("Race", n_transactions=900, uncategorized_every=1)
    conn = ActualConnector(actual_session, b.file_id, tmp_path / "copy")
    conn.pull_latest(no_progress)
    groceries, travel = b.categories["Groceries"], b.categories["Travel"]
    outcomes: dict[str, int] = {}
    rounds, batch = 8, 100  # the window is a few ms: half the rounds start the racer right before our send
    for r in range(rounds):
        targets = b.uncategorized[r * batch:(r + 1) * batch]
        raced = targets[r * 7 % batch]
        other = OtherClient(actual_server, b.file_id, tmp_path)
        other.tx(raced).category_id = travel
        start = threading.Event()
        racer = threading.Thread(target=lambda: (start.wait(), other.commit_and_close()))
        racer.start()
        if r % 2:
            start.set()  # races our pull

        def race_the_send(done: int, total: int) -> None:
            if done == total:
                start.set()  # races our send and the read back that follows it

        result = conn.set_categories({tx: groceries for tx in targets}, race_the_send)
        start.set()
        racer.join()
        state = server_state(actual_server, b.file_id, tmp_path)
        assert state[raced][0] == travel, f"round {r}: the other client's edit was overwritten"
        if raced in result.skipped:
            assert result.skipped[raced] in (SKIP_CHANGED, SKIP_CATEGORIZED)
        outcome = result.skipped.get(raced, "their edit came after ours")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        assert all(state[t][0] == groceries for t in result.applied if t != raced)
        assert len(result.applied) + len(result.skipped) == batch
    print("race outcomes over", rounds, "rounds:", outcomes)
