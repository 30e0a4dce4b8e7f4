"""Process start: actualpy imported and the Actual login done once, shared by the process (and its forks)."""
from __future__ import annotations

import sys

from budget.actual import session as actual_session
from testkit.procs import free_port


def test_one_session_per_server_and_password():
    a = actual_session.shared_session("http://127.0.0.1:1/", "pw-a")
    assert actual_session.shared_session("http://127.0.0.1:1", "pw-a") is a
    assert actual_session.shared_session("http://127.0.0.1:1", "pw-b") is not a


def test_warm_up_imports_actualpy_and_never_raises_on_an_unreachable_server(caplog):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    actual_session.warm_up(url, "pw-unreachable")
    assert "actual" in sys.modules and "actual.database" in sys.modules
    assert "not logged in at start" in caplog.text and "pw-unreachable" not in caplog.text
    session = actual_session.shared_session(url, "pw-unreachable")
    assert session._login_error is None  # unreachable is transient: the first job tries again


def test_warm_up_without_a_server_only_imports():
    actual_session.warm_up(None, None)
    assert "actual" in sys.modules
