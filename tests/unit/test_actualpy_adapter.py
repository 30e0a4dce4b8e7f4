"""Fails loudly when actualpy changes a piece budget/actual/adapter.py relies on."""
from __future__ import annotations

import inspect

from sqlmodel import Session, SQLModel, create_engine

from budget.actual import adapter


def test_actualpy_collects_a_sessions_changes_in_session_info_messages_on_flush():
    from actual.database import Payees, strong_reference_session
    from actual.protobuf_models import Message

    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    with strong_reference_session(Session(engine)) as s:
        s.add(Payees(id="payee-1", name="Corner Bakery"))
        s.flush()
        messages = adapter.pending_messages(s)
    assert messages and all(isinstance(m, Message) for m in messages)
    assert {(m.dataset, m.row, m.column, m.value) for m in messages} >= {("payees", "payee-1", "name", "S:Corner Bakery")}


def test_actualpy_keeps_the_copys_clock_as_a_hulc_client():
    from actual.protobuf_models import HULC_Client
    from actual.queries import get_or_create_clock

    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s:
        clock = get_or_create_clock(s).get_timestamp()
    assert isinstance(clock, HULC_Client)
    assert {"client_id", "ts", "initial_count"} <= set(vars(clock))


def test_actualpy_sync_request_and_client_have_the_shapes_the_adapter_calls():
    from actual import Actual
    from actual.protobuf_models import SyncRequest

    assert list(inspect.signature(SyncRequest.set_messages).parameters)[:4] == ["self", "messages", "client", "master_key"]
    assert {"client_id", "now", "initial_count"} <= set(inspect.signature(SyncRequest.set_timestamp).parameters)
    assert list(inspect.signature(Actual.download_master_encryption_key).parameters) == ["self", "encryption_password"]
    assert list(inspect.signature(Actual.sync_sync).parameters) == ["self", "request"]
