"""Suggestions that the schedule made before the page was opened say where they came from."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import UI_TIMEOUT_MS, new_budget, open_job_center
from tests.support.stack import ROOT, Stack

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A stack of its own: the scheduled run makes a job for every budget it knows."""
    s = Stack(tmp_path_factory.mktemp("schedule-stack") / "data")
    s.start(workers=1)
    try:
        yield s
    finally:
        s.stop()


def run_schedule_once(stack, minutes: int = 60) -> list[str]:
    """What the periodic task does once a minute, with SYNC_INTERVAL_MINUTES=minutes: returns the jobs it made."""
    env = {**stack.env, "SYNC_INTERVAL_MINUTES": str(minutes)}
    code = "import json; from tasks import periodic_tasks as p; print(json.dumps(p.schedule_sync_and_suggest.call_local()))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_suggestions_made_by_the_schedule_say_so(page: Page, stack, axe, output_dir):
    budget_id = new_budget(stack)
    created = run_schedule_once(stack)
    details = [stack.wait_job(job_id) for job_id in created]
    (mine,) = [d for d in details if d["job"]["budgetId"] == budget_id]
    assert mine["job"]["status"] == "succeeded" and mine["job"]["trigger"] == "scheduled"

    open_job_center(page, stack, budget_id)
    row = page.get_by_test_id("job-row").first
    expect(row.get_by_test_id("job-row-label")).to_have_text("Scheduled Sync & Generate", timeout=UI_TIMEOUT_MS)
    expect(row.get_by_test_id("job-row-trigger")).to_have_text("Made by the hourly schedule")
    origin = page.get_by_test_id("suggestions-origin")
    expect(origin).to_have_text(re.compile(
        r"^Made by the hourly schedule \(Scheduled Sync & Generate\), (just now|\d+ seconds? ago|\d+ minutes? ago)\.$"),
        timeout=UI_TIMEOUT_MS)
    expect(page.get_by_test_id("suggestion-group").first).to_be_visible()
    axe.check(page, "scheduled-suggestions")
    page.get_by_test_id("suggestions").scroll_into_view_if_needed()
    page.screenshot(path=str(output_dir / "scheduled-origin.png"))


def test_a_job_of_a_half_hourly_schedule_says_how_often_it_runs(page: Page, stack):
    budget_id = new_budget(stack)
    created = run_schedule_once(stack, minutes=30)  # the budget above synced: only this new one is due
    (mine,) = [d for d in (stack.wait_job(job_id) for job_id in created) if d["job"]["budgetId"] == budget_id]
    assert mine["job"]["metadata"] == {"intervalMinutes": 30}

    open_job_center(page, stack, budget_id)
    row = page.get_by_test_id("job-row").first
    expect(row.get_by_test_id("job-row-trigger")).to_have_text("Made by the schedule that runs every 30 min",
                                                               timeout=UI_TIMEOUT_MS)
    row.click()
    expect(page.get_by_test_id("job-detail")).to_contain_text("Made by the schedule that runs every 30 min",
                                                              timeout=UI_TIMEOUT_MS)
