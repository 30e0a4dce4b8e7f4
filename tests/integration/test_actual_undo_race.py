"""Issue 12 item 6 with issue 16 item 3's care: an undo of an apply never overwrites a person's concurrent edit.
Against a real Actual sync server of its own (one per module): beside the safety tests this one would reach
the server's per-address rate limit."""
from __future__ import annotations

import pytest

from budget.actual import ActualConnector
from budget.actual.rules import SKIP_CHANGED
from budget.connector import Revert
from tests.integration.test_actual_budget_safety import no_progress, older_than_our_write, send_stamped
from tests.support.actual_fixtures import OtherClient, server_state

pytestmark = [pytest.mark.actual, pytest.mark.integration]


def test_an_edit_between_the_pull_and_the_send_of_an_undo_is_kept_and_reported(actual_server, actual_session,
                                                                               seed_budget, tmp_path):
    b = seed_budget("Undo race window", n_transactions=150)
    conn = ActualConnector(actual_session, b.file_id, tmp_path / "copy")
    conn.pull_latest(no_progress)
    before = server_state(actual_server, b.file_id, tmp_path)
    groceries, travel, tag = b.categories["Groceries"], b.categories["Travel"], "#budget-assist"
    targets = b.uncategorized[:40]
    assert sorted(conn.set_categories({tx: groceries for tx in targets}, no_progress).applied) == sorted(targets)
    assert sorted(conn.tag_notes(targets, tag)) == sorted(targets)
    raced, renoted = targets[3], targets[7]
    late = targets[11]  # edited offline before the undo's pull, arriving only now: older than the undo's write
    other = OtherClient(actual_server, b.file_id, tmp_path)  # pulled before the undo: its edit is not in our pull
    other.tx(raced).category_id = travel
    other.tx(renoted).notes = "split this one later"

    def edit_in_the_window(done: int, total: int) -> None:  # after the undo's checks, before its send
        if done == total and other.actual is not None:
            send_stamped(other.actual, late, travel, older_than_our_write(conn))
            other.commit_and_close()
            other.actual = None

    result = conn.revert_categories({tx: Revert(expected=groceries, restore=None, note_tag=tag) for tx in targets},
                                    edit_in_the_window)
    assert result.skipped == {raced: SKIP_CHANGED, renoted: SKIP_CHANGED, late: SKIP_CHANGED}
    assert sorted(result.applied) == sorted(t for t in targets if t not in (raced, renoted, late))
    state = server_state(actual_server, b.file_id, tmp_path)
    assert state[raced][0] == travel  # theirs, not the undo's
    assert state[late][0] == travel  # the undo would have won (newer stamp): theirs was put back
    assert state[renoted][0] == groceries and state[renoted][2] == "split this one later"  # left as they made it
    assert all(state[t] == before[t] for t in result.applied)  # category and notes exactly as before the apply
    conn.pull_latest(no_progress)
    local = {t.id: t for t in conn.transactions()}
    assert local[raced].category_id == travel and local[late].category_id == travel
    assert local[renoted].category_id == groceries and local[renoted].notes == "split this one later"
    assert all(local[t].category_id is None and local[t].notes == (before[t][2] or "") for t in result.applied)
