"""The one place that speaks actualpy's sync protocol below its `Actual` context manager.

Why: categories are written as Actual sync messages built here, not through actualpy's ORM and
`Actual.commit()`, because
- `commit()` commits the local copy first and sends afterwards: a failed send leaves local changes
  the server never saw; we send first and change the local copy only once the server accepted;
- the ORM selects every column its models know (`categories.template_settings`), which budgets made
  by older servers (25.6.0) lack, so an ORM write fails there;
- the server's answer to a send carries what other clients sent since our pull, which `commit()`
  throws away; we need it to notice a person's concurrent edit;
- actualpy checks the encryption password only when it has something to decrypt; Actual's own
  client first proves it against the key test the server keeps for the file, and so do we.
Pieces used: `Message`, `SyncRequest`, `HULC_Client` (actual.protobuf_models), `get_or_create_clock`
(actual.queries), `create_key_buffer`, `decrypt_from_meta` (actual.crypto), `Actual.user_get_key`,
`Actual.sync_sync`, `Actual.apply_changes`, `Actual.engine`. tests/unit/test_actualpy_adapter.py
fails loudly if actualpy changes any of them.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from actual import Actual
    from actual.api.models import RemoteFileListDTO
    from actual.protobuf_models import HULC_Client, Message


class KeyMismatch(Exception):
    """The encryption password does not open the file's key test (or the file has no key test)."""


@dataclass(frozen=True)
class Change:
    """One sync message with its timestamp: `dataset`.`column` of `row` set to `value`."""

    timestamp: str
    dataset: str
    row: str
    column: str
    value: object


def verified_key(actual: "Actual", file_id: str, password: str) -> bytes:
    """The file's key derived from `password`, proven against the server's key test; else KeyMismatch."""
    from actual.crypto import create_key_buffer, decrypt_from_meta
    from actual.exceptions import ActualDecryptionError

    info = actual.user_get_key(file_id).data
    test = info.meta() if info.test else None
    if not info.salt or test is None:
        raise KeyMismatch("the server keeps no key test for this file")
    key = create_key_buffer(password, info.salt)
    try:
        decrypt_from_meta(key, base64.b64decode(test.value), test.meta)
    except (ActualDecryptionError, ValueError) as exc:
        raise KeyMismatch("the key test does not decrypt") from exc
    return key


def stored_clock(actual: "Actual") -> "HULC_Client":
    """The working copy's clock: the timestamp of the newest message it has received."""
    from actual.queries import get_or_create_clock
    from sqlmodel import Session

    with Session(actual.engine) as s:  # a separate session, never committed: reading adds nothing
        return get_or_create_clock(s).get_timestamp()


def new_client(after: "HULC_Client") -> "HULC_Client":
    """A clock with a client id of its own that stamps right after `after`, whatever the wall time.

    Our changes are decided on the state the copy had at `after` (the newest message it received),
    so they are stamped as made just then: a person's edit made while the apply runs carries a later
    timestamp and wins in every client (last writer wins per cell), whichever reaches the server first.
    """
    import datetime as dt

    from actual.protobuf_models import HULC_Client

    class AfterClock(HULC_Client):
        def timestamp(self, now: Optional[dt.datetime] = None) -> str:
            base = self.ts or dt.datetime(1970, 1, 1)
            if self.initial_count >= self.MAX_COUNTER:  # the counter is full: one millisecond on
                base += dt.timedelta(milliseconds=1)
            return super().timestamp(now or base)

    return AfterClock(HULC_Client.random_client_id(), after.initial_count, after.ts)


def message(dataset: str, row: str, column: str, value: object) -> "Message":
    """One sync message setting `dataset`.`column` of `row` to `value`."""
    from actual.protobuf_models import Message

    m = Message({"dataset": dataset, "row": row, "column": column})
    m.set_value(value)
    return m


def send(actual: "Actual", remote: "RemoteFileListDTO", key: Optional[bytes], since: str,
         client: "HULC_Client", messages: list["Message"]) -> tuple[list[Change], list[Change]]:
    """Send `messages` (none: only read); return them as sent, and what others sent after `since`.

    Raises unless the server accepted them.
    """
    from actual.protobuf_models import SyncRequest

    req = SyncRequest({"fileId": remote.file_id, "groupId": remote.group_id})
    if remote.encrypt_key_id:
        req.keyId = remote.encrypt_key_id
    req.since = since
    if messages:
        req.set_messages(messages, client, master_key=key)
    ours = [Change(env.timestamp, m.dataset, m.row, m.column, m.get_value())
            for env, m in zip(req.messages, messages)]
    answer = actual.sync_sync(req)
    others = []
    for env in answer.messages:
        if env.timestamp > since and not env.timestamp.endswith(f"-{client.client_id}"):
            m = env.message(key)
            others.append(Change(env.timestamp, m.dataset, m.row, m.column, m.get_value()))
    return ours, others


def stored_since(db_path) -> str:
    """The newest message timestamp the working copy's clock records (messages_clock), read without actualpy;
    "" when it has none."""
    import json
    import sqlite3

    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT clock FROM messages_clock ORDER BY id LIMIT 1").fetchone()
    finally:
        conn.close()
    try:
        return str(json.loads(row[0]).get("timestamp") or "") if row and row[0] else ""
    except (ValueError, AttributeError):
        return ""


def newer_than(actual: "Actual", remote: "RemoteFileListDTO", since: str) -> list[str]:
    """Timestamps of the messages the server holds for the file newer than `since` (one sync request that sends
    nothing; nothing is decrypted or written). actualpy's own pull asks from the start of `since`'s millisecond
    (its counter reset to 0), so it gets the newest millisecond's messages again on every pull; this asks exactly."""
    from actual.protobuf_models import SyncRequest

    req = SyncRequest({"fileId": remote.file_id, "groupId": remote.group_id})
    if remote.encrypt_key_id:
        req.keyId = remote.encrypt_key_id
    req.since = since or "1970-01-01T00:00:00.000Z-0000-0000000000000000"
    return [env.timestamp for env in actual.sync_sync(req).messages if env.timestamp > (since or "")]


def apply_locally(actual: "Actual", messages: list["Message"]) -> None:
    """Write messages the server accepted into the working copy (by table and column, not the ORM)."""
    if messages:
        actual.apply_changes(messages)
