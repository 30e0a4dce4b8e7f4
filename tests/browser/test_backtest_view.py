"""The Check Suggestion Accuracy job in a real Chromium: started from the page, its figures shown as tables."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_job_center import JOB_TIMEOUT_MS, UI_TIMEOUT_MS, new_budget, open_job_center

pytestmark = pytest.mark.browser


def test_the_backtest_detail_shows_accuracy_beside_last_category_and_the_reliability_table(page, stack):
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    page.get_by_test_id("start-suggestions-backtest").click()
    detail = page.get_by_test_id("job-detail")
    expect(detail.get_by_test_id("job-detail-label")).to_have_text("Check Suggestion Accuracy", timeout=UI_TIMEOUT_MS)
    expect(detail.get_by_test_id("job-detail-status")).to_have_text("Succeeded", timeout=JOB_TIMEOUT_MS)
    tables = detail.get_by_test_id("step-table")
    expect(tables).to_have_count(2, timeout=UI_TIMEOUT_MS)
    accuracy, reliability = tables.nth(0), tables.nth(1)
    expect(accuracy.locator("tbody th")).to_have_text(["budget-assist", "Last category used for this payee"])
    expect(accuracy.locator("thead th")).to_have_text(["", "Right", "Suggested for", "Right on new payees"])
    expect(accuracy.locator("tbody td").first).to_have_text(re.compile(r"^\d+\.\d %$"))
    expect(reliability.locator("caption")).to_have_text("Does the confidence mean what it says?")
    assert reliability.locator("tbody tr").count() >= 2
    expect(detail.get_by_test_id("step-result")).to_contain_text("budget-assist")
