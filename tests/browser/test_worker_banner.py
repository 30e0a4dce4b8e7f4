"""The Job Center says when no worker is running, and when the next scheduled sync is due (real Chromium)."""
from __future__ import annotations

import re
import signal

import pytest
from playwright.sync_api import expect

from tests.support.stack import FAST_RECOVERY, Stack

pytestmark = pytest.mark.browser

UI_TIMEOUT_MS = 30_000  # the page looks at the health every 5 s; a lost worker shows after HEARTBEAT_TIMEOUT


@pytest.fixture()
def own_stack(tmp_path):
    """A stack of its own: this test stops and starts its worker."""
    # open mode (loopback, no password): the shared `page` fixture logs in to the shared stack, not to this one
    s = Stack(tmp_path / "data", {**FAST_RECOVERY, "SYNC_INTERVAL_MINUTES": "60", "AUTH_PASSWORD": ""})
    s.start(workers=1)
    try:
        yield s
    finally:
        s.stop()


def test_the_banner_shows_while_no_worker_runs_and_hides_when_one_comes_back(own_stack, page):  # page closes first
    stack = own_stack
    done = stack.post_job("budget-sync")
    stack.wait_job(done["id"])
    page.goto(f"{stack.base_url}/#budget=demo")
    banner = page.get_by_test_id("worker-banner")
    expect(page.get_by_test_id("next-sync")).to_have_text(
        re.compile(r"Next scheduled sync: in (59|60) minutes \(every 60 minutes after the last successful sync\)"),
        timeout=UI_TIMEOUT_MS)
    expect(banner).to_be_hidden()
    stack.stop_worker(stack.workers[0], signal.SIGKILL)
    stack.post_job("budget-sync")
    expect(banner).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(banner).to_have_text("No worker is running: jobs will wait.")
    stack.start_worker()
    expect(banner).to_be_hidden(timeout=UI_TIMEOUT_MS)
