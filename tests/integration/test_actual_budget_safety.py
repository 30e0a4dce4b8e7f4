"""The Actual connector never harms a budget: the encryption key, Actual's "uncategorized", concurrent edits,
hidden and replaced categories. Against a real Actual sync server (one per module)."""
from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing

import pytest

from budget.actual import ActualConnector
from budget.actual.rules import (
    SKIP_CHANGED,
    SKIP_HIDDEN_CATEGORY,
    SKIP_OFF_BUDGET,
    SKIP_SPLIT_OR_TRANSFER,
)
from budget.connector import ConnectorError
from tests.support.actual_fixtures import OtherClient, seed_actual_budget, server_state

pytestmark = [pytest.mark.actual, pytest.mark.integration]


def no_progress(done: int, total: int) -> None:
    pass


def server_messages(server, file_id: str) -> int:
    """How many sync messages the server stores for the file (its group file's rows)."""
    group = next(f["groupId"] for f in _files(server) if f["fileId"] == file_id)
    path = server.data_dir / "user-files" / f"group-{group}.sqlite"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT COUNT(*) FROM messages_binary").fetchone()[0]


def _files(server) -> list[dict]:
    import urllib.request

    req = urllib.request.Request(f"{server.url}/sync/list-user-files", headers={"X-ACTUAL-TOKEN": server.token})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())["data"]


@pytest.fixture(scope="module")
def shapes(seed_budget):
    """A budget with an off-budget account and transfers to it, beside the usual shapes."""
    return seed_budget("Shapes", n_transactions=120, off_budget=True)


# -- 1. the encryption key -----------------------------------------------------------------------
def test_a_wrong_encryption_key_on_an_up_to_date_copy_sends_nothing(actual_server, actual_session, tmp_path):
    key = "enc-right-" + uuid.uuid4().hex[:8]
    typo = key + "x"
    b = seed_actual_budget(actual_server.url, actual_server.token, tmp_path / "seed", "Encrypted safety",
                           n_transactions=30, encryption_password=key)
    copy = tmp_path / "copy"
    right = ActualConnector(actual_session, b.file_id, copy, encryption_password=key)
    right.pull_latest(no_progress)
    assert right.set_categories({b.uncategorized[0]: b.categories["Salary"]}, no_progress).applied == [b.uncategorized[0]]
    assert right.pull_latest(no_progress).changed == 0  # the copy is up to date: nothing left to decrypt
    messages = server_messages(actual_server, b.file_id)

    # the worker restarts with a mistyped key on the same working copy
    wrong = ActualConnector(actual_session, b.file_id, copy, encryption_password=typo)
    for attempt in (lambda: wrong.set_categories({b.uncategorized[1]: b.categories["Travel"]}, no_progress),
                    lambda: wrong.pull_latest(no_progress), lambda: wrong.fresh_download(no_progress)):
        with pytest.raises(ConnectorError) as info:
            attempt()
        assert info.value.code == "actual_encryption" and not info.value.transient
        assert "ACTUAL_ENCRYPTION_PASSWORD is wrong" in info.value.message and "Nothing was" in info.value.message
        assert key not in info.value.message and typo not in info.value.message

    assert server_messages(actual_server, b.file_id) == messages  # nothing reached the server
    state = server_state(actual_server, b.file_id, tmp_path, encryption_password=key)  # opens with the right key
    assert state[b.uncategorized[0]][0] == b.categories["Salary"] and state[b.uncategorized[1]][0] is None
    assert right.set_categories({b.uncategorized[1]: b.categories["Travel"]}, no_progress).applied == [b.uncategorized[1]]
    assert server_state(actual_server, b.file_id, tmp_path, encryption_password=key)[b.uncategorized[1]][0] \
        == b.categories["Travel"]


# -- 2. what "uncategorized" means -------------------------------------------------------------
def test_uncategorized_is_an_on_budget_transaction_without_category_or_transfer_to_off_budget(
        actual_session, shapes, tmp_path):
    conn = ActualConnector(actual_session, shapes.file_id, tmp_path / "copy")
    conn.pull_latest(no_progress)
    by_id = {t.id: t for t in conn.transactions()}
    assert not set(shapes.off_budget) & set(by_id)  # off-budget history neither feeds nor gets suggestions
    assert not set(shapes.from_off_budget) & set(by_id)
    assert not set(shapes.transfers) & set(by_id) and not set(shapes.split_parents) & set(by_id)
    assert all(by_id[t].category_id is None for t in shapes.to_off_budget)  # listed as uncategorized, as in Actual
    assert set(by_id) == shapes.eligible | set(shapes.to_off_budget)


def test_apply_rechecks_the_same_conditions(actual_server, actual_session, shapes, tmp_path):
    conn = ActualConnector(actual_session, shapes.file_id, tmp_path / "copy")
    conn.pull_latest(no_progress)
    groceries = shapes.categories["Groceries"]
    uncategorized_off_budget = shapes.off_budget[0]
    assignments = {shapes.to_off_budget[0]: groceries, uncategorized_off_budget: groceries,
                   shapes.from_off_budget[0]: groceries, shapes.transfers[0]: groceries,
                   shapes.split_parents[0]: groceries}
    result = conn.set_categories(assignments, no_progress)
    assert result.applied == [shapes.to_off_budget[0]]
    assert result.skipped == {uncategorized_off_budget: SKIP_OFF_BUDGET, shapes.from_off_budget[0]: SKIP_OFF_BUDGET,
                              shapes.transfers[0]: SKIP_SPLIT_OR_TRANSFER,
                              shapes.split_parents[0]: SKIP_SPLIT_OR_TRANSFER}
    state = server_state(actual_server, shapes.file_id, tmp_path)
    assert state[shapes.to_off_budget[0]][0] == groceries
    assert all(state[t][0] is None for t in (uncategorized_off_budget, shapes.from_off_budget[0],
                                               shapes.transfers[0], shapes.split_parents[0]))


# -- 3. a person's concurrent edit ---------------------------------------------------------------
def test_an_edit_between_the_pull_and_the_send_is_kept_and_reported(actual_server, actual_session, seed_budget,
                                                                    tmp_path):
    b = seed_budget("Race window", n_transactions=150)
    conn = ActualConnector(actual_session, b.file_id, tmp_path / "copy")
    conn.pull_latest(no_progress)
    groceries, travel = b.categories["Groceries"], b.categories["Travel"]
    targets = b.uncategorized[:40]
    raced, renoted = targets[3], targets[7]
    late = targets[11]  # edited offline before our pull, arriving only now: older than our write
    other = OtherClient(actual_server, b.file_id, tmp_path)  # pulled before us: its edit is not in our pull
    other.tx(raced).category_id = travel
    other.tx(renoted).notes = "split this one later"

    def edit_in_the_window(done: int, total: int) -> None:  # after our checks, before our send
        if done == total and other.actual is not None:
            send_stamped(other.actual, late, travel, older_than_our_write(conn))
            other.commit_and_close()
            other.actual = None

    result = conn.set_categories({tx: groceries for tx in targets}, edit_in_the_window)
    assert result.skipped == {raced: SKIP_CHANGED, renoted: SKIP_CHANGED, late: SKIP_CHANGED}
    assert sorted(result.applied) == sorted(t for t in targets if t not in (raced, renoted, late))
    state = server_state(actual_server, b.file_id, tmp_path)
    assert state[raced][0] == travel  # theirs, not ours
    assert state[late][0] == travel  # ours would have won (newer stamp): theirs was put back
    assert state[renoted][0] is None and state[renoted][2] == "split this one later"
    assert all(state[t][0] == groceries for t in result.applied)
    conn.pull_latest(no_progress)
    local = {t.id: t.category_id for t in conn.transactions()}
    assert local[raced] == travel and local[late] == travel and local[renoted] is None


def older_than_our_write(conn: ActualConnector) -> str:
    """A stamp after the copy's clock (so the server hands it to us) but before what our apply will write."""
    with closing(sqlite3.connect(conn.db_path)) as db:
        clock = json.loads(db.execute("SELECT clock FROM messages_clock").fetchone()[0])["timestamp"]
    head, counter, _client = clock.rsplit("-", 2)
    return f"{head}-{counter}-ffffffffffffffff"  # same counter as the clock: ours counts one up from it


def send_stamped(actual, tx_id: str, category_id: str, stamp: str) -> None:
    """What a client that was offline sends late: a category change with an old timestamp."""
    from actual.protobuf_models import Message, MessageEnvelope, SyncRequest

    m = Message({"dataset": "transactions", "row": tx_id, "column": "category"})
    m.set_value(category_id)
    req = SyncRequest({"fileId": actual.file.file_id, "groupId": actual.file.group_id, "since": stamp})
    req.messages = [MessageEnvelope({"timestamp": stamp, "isEncrypted": False, "content": Message.serialize(m)})]
    actual.sync_sync(req)


# -- 6. categories hidden or replaced after the suggestion ---------------------------------------
def test_a_hidden_category_is_skipped_and_a_replaced_one_is_followed(actual_server, actual_session, seed_budget,
                                                                     tmp_path):
    from actual.database import Categories, CategoryMapping

    b = seed_budget("Categories changed", n_transactions=60)
    conn = ActualConnector(actual_session, b.file_id, tmp_path / "copy")
    conn.pull_latest(no_progress)
    hobbies, travel, transport, groceries = (b.categories[n] for n in ("Hobbies", "Travel", "Transport", "Groceries"))
    # suggestions were made; then, in the web app, Hobbies is hidden and Travel deleted into Transport
    other = OtherClient(actual_server, b.file_id, tmp_path)
    other.s.get(Categories, hobbies).hidden = True
    other.s.get(Categories, travel).tombstone = 1
    other.s.get(CategoryMapping, travel).transfer_id = transport
    other.commit_and_close()

    first, second, third = b.uncategorized[:3]
    result = conn.set_categories({first: hobbies, second: travel, third: groceries}, no_progress)
    assert result.skipped == {first: SKIP_HIDDEN_CATEGORY}
    assert sorted(result.applied) == sorted([second, third])
    state = server_state(actual_server, b.file_id, tmp_path)
    assert state[first][0] is None
    assert state[second][0] == transport  # followed to the replacement, as the sync shows it
    assert state[third][0] == groceries
    assert {t.id: t.category_id for t in conn.transactions()}[second] == transport
    again = conn.set_categories({second: travel}, no_progress)  # a retried apply: already there
    assert again.applied == [second] and not again.skipped
