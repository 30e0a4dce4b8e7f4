"""Fails loudly when actualpy changes a piece budget/actual/adapter.py relies on."""
from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
from sqlmodel import Session, SQLModel, create_engine

from budget.actual import adapter


def test_the_working_copys_clock_is_read_without_writing_anything():
    from actual.protobuf_models import HULC_Client

    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    clock = adapter.stored_clock(SimpleNamespace(engine=engine))
    assert isinstance(clock, HULC_Client)
    with Session(engine) as s:
        assert s.exec(SQLModel.metadata.tables["messages_clock"].select()).all() == []


def test_a_new_client_has_its_own_id_and_stamps_right_after_the_clock_whatever_the_wall_time():
    from actual.protobuf_models import HULC_Client

    seen = HULC_Client.from_timestamp("2001-02-03T04:05:06.789Z-0003-0123456789abcdef")
    client = adapter.new_client(seen)
    stamps = [client.timestamp() for _ in range(3)]
    assert client.client_id != seen.client_id
    assert stamps == sorted(stamps) and stamps[0] > str(seen)
    assert all(s.startswith("2001-02-03T04:05:06.789Z-") for s in stamps)  # older than anything made since
    full = adapter.new_client(HULC_Client.from_timestamp("2001-02-03T04:05:06.789Z-FFFF-0123456789abcdef"))
    assert full.timestamp().startswith("2001-02-03T04:05:06.790Z-0000-")


def test_messages_carry_actuals_value_encoding():
    assert adapter.message("transactions", "t1", "category", "cat-1").value == "S:cat-1"
    assert adapter.message("transactions", "t1", "category", None).value.startswith("0:")  # Actual reads null


def test_messages_sent_encrypted_come_back_with_their_timestamps(monkeypatch):
    from actual.crypto import create_key_buffer
    from actual.protobuf_models import HULC_Client, SyncRequest, SyncResponse

    key = create_key_buffer("pw", "salt")
    client = HULC_Client(HULC_Client.random_client_id())
    other = HULC_Client(HULC_Client.random_client_id())
    theirs = SyncRequest()
    theirs.set_messages([adapter.message("transactions", "t9", "category", "travel")], other, master_key=key)
    sent = []

    def sync_sync(req):
        sent.append(req)
        return SyncResponse({"messages": list(theirs.messages) + list(req.messages)})

    remote = SimpleNamespace(file_id="f", group_id="g", encrypt_key_id="k")
    since = "2000-01-01T00:00:00.000Z-0000-0000000000000000"
    ours, others = adapter.send(SimpleNamespace(sync_sync=sync_sync), remote, key, since, client,
                                [adapter.message("transactions", "t1", "category", "groceries")])
    assert sent[0].keyId == "k" and sent[0].since == since and sent[0].messages[0].isEncrypted
    assert [(c.row, c.value) for c in ours] == [("t1", "groceries")] and ours[0].timestamp.endswith(client.client_id)
    assert [(c.dataset, c.row, c.column, c.value) for c in others] == [("transactions", "t9", "category", "travel")]


def test_the_key_test_tells_the_right_password_from_a_wrong_one():
    from actual.api.models import EncryptionDTO, UserGetKeyDTO
    from actual.crypto import create_key_buffer, make_test_message

    salt = "c2FsdC1mb3ItdGVzdHM="
    key = create_key_buffer("right-pw", salt)
    test = make_test_message("key-1", key).model_dump_json(by_alias=True)
    dto = UserGetKeyDTO(status="ok", data=EncryptionDTO(id="key-1", salt=salt, test=test))
    actual = SimpleNamespace(user_get_key=lambda file_id: dto)
    assert adapter.verified_key(actual, "f", "right-pw") == key
    with pytest.raises(adapter.KeyMismatch):
        adapter.verified_key(actual, "f", "wrong-pw")
    no_test = SimpleNamespace(user_get_key=lambda file_id: UserGetKeyDTO(
        status="ok", data=EncryptionDTO(id="key-1", salt=salt, test=None)))
    with pytest.raises(adapter.KeyMismatch):
        adapter.verified_key(no_test, "f", "right-pw")


def test_actualpy_methods_the_adapter_calls_keep_their_shape():
    from actual import Actual

    assert list(inspect.signature(Actual.user_get_key).parameters) == ["self", "file_id"]
    assert list(inspect.signature(Actual.sync_sync).parameters) == ["self", "request"]
    assert list(inspect.signature(Actual.apply_changes).parameters) == ["self", "messages"]
