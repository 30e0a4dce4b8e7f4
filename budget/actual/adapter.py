"""The one place that uses actualpy below its `Actual` context manager (sync messages, clock, keys).

Why: actualpy's `Actual.commit()` commits the local copy first and sends the changes afterwards; a
failed send then leaves local changes the server never saw. We send first and commit locally only
once the server accepted them, which needs three pieces actualpy has but does not document as its
commit path: the changes its session collected in `session.info["messages"]` (filled by
`actual.database.strong_reference_session` on flush), the copy's stored HULC clock
(`actual.queries.get_or_create_clock`) and the master key (`Actual.download_master_encryption_key`).
tests/unit/test_actualpy_adapter.py fails loudly if actualpy changes any of them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from actual import Actual
    from actual.api.models import RemoteFileListDTO
    from actual.protobuf_models import Message, SyncResponse
    from sqlmodel import Session


def pending_messages(session: "Session") -> list["Message"]:
    """The changes actualpy's session collected since its last commit (after a flush)."""
    return list(session.info.get("messages") or [])


def send_messages(actual: "Actual", remote: "RemoteFileListDTO", messages: list["Message"],
                  encryption_password: Optional[str]) -> "SyncResponse":
    """Send `messages` to the server with the working copy's clock; raises unless the server accepted them."""
    from actual.protobuf_models import SyncRequest
    from actual.queries import get_or_create_clock
    from sqlmodel import Session

    with Session(actual.engine) as s:  # a separate session: reading the clock adds nothing to commit
        clock = get_or_create_clock(s).get_timestamp()
    master_key = actual.download_master_encryption_key(encryption_password) if remote.encrypt_key_id else None
    req = SyncRequest({"fileId": remote.file_id, "groupId": remote.group_id})
    if remote.encrypt_key_id:
        req.keyId = remote.encrypt_key_id
    req.set_timestamp(client_id=clock.client_id, now=clock.ts, initial_count=clock.initial_count)
    req.set_messages(messages, clock, master_key=master_key)
    return actual.sync_sync(req)
