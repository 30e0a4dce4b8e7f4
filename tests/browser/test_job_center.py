"""The Job Center page in a real Chromium against the real stack (gunicorn + huey_consumer).

Every test makes its own demo budget, so tests do not see each other's jobs or suggestions, and
opens the page on it with `/#budget=<id>`. Waiting is done by playwright's `expect(...)` with a
timeout, never by sleeping.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import (
    JOB_TIMEOUT_MS, UI_TIMEOUT_MS, api, assert_not_reloaded, new_budget, open_job_center, run_sync_and_generate,
    worker_held,
)

pytestmark = pytest.mark.browser


# ------------------------------------------------------------------------------------ tests

def test_sync_and_generate_runs_live_from_the_page(page: Page, stack, output_dir, axe):
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    rows = page.get_by_test_id("job-row")
    expect(rows).to_have_count(0)
    expect(page.get_by_test_id("snapshots-empty")).to_be_visible(timeout=UI_TIMEOUT_MS)
    axe.check(page, "initial")

    page.get_by_test_id("start-sync-and-suggest").click()

    # The started job is at the top of the list at once (from the POST answer, before any poll).
    expect(rows).to_have_count(1, timeout=UI_TIMEOUT_MS)
    expect(rows.first.get_by_test_id("job-row-label")).to_have_text("Sync & Generate Suggestions")
    expect(rows.first.get_by_test_id("job-row-trigger")).to_have_text("Started by you")

    detail = page.get_by_test_id("job-detail")
    expect(detail.get_by_test_id("job-detail-status")).to_have_text("Succeeded", timeout=JOB_TIMEOUT_MS)
    expect(rows.first.get_by_test_id("job-row-status")).to_have_text("Succeeded")

    steps = detail.get_by_test_id("step")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_have_attribute("data-step-type", "sync")
    expect(steps.nth(1)).to_have_attribute("data-step-type", "suggestions")
    expect(detail.get_by_test_id("step-status")).to_have_text(["Succeeded", "Succeeded"])
    expect(steps.nth(0).get_by_test_id("step-result")).to_have_text(re.compile(r"\d+ new transactions?, \d+ changed"))
    expect(steps.nth(1).get_by_test_id("step-result")).to_have_text(re.compile(r"\d+ suggestions?, \d+ skipped"))
    expect(detail.get_by_test_id("failure-reason")).to_have_count(0)
    expect(detail.get_by_test_id("cancel-job")).to_have_count(0)
    # queued, started, each step's start and end, finished
    assert detail.get_by_test_id("event").count() >= 3

    # Exact times on hover, relative times in the text.
    created = rows.first.locator("time")
    expect(created).to_have_attribute("title", re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"))

    # The suggestions the job made show up without a reload, too.
    expect(page.get_by_test_id("suggestion-group").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    assert_not_reloaded(page)
    axe.check(page, "job-detail")
    detail.screenshot(path=str(output_dir / "job-detail.png"))
    page.screenshot(path=str(output_dir / "job-center.png"), full_page=True)


def test_approve_a_payee_group_and_apply_it(page: Page, stack, output_dir, axe):
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    run_sync_and_generate(page)

    group = page.get_by_test_id("suggestion-group").first
    expect(group).to_be_visible(timeout=UI_TIMEOUT_MS)
    payee = group.get_attribute("data-payee")
    count = group.get_by_test_id("suggestion").count()
    assert count >= 1
    expect(group.get_by_test_id("suggestion-amount").first).to_have_text(re.compile(r"^−?[\d,]+\.\d{2}$"))
    expect(group.get_by_test_id("suggestion-confidence").first).to_have_text(re.compile(r"^\d{1,3}%$"))
    axe.check(page, "suggestions-listed")

    group.get_by_test_id("group-approve").click()

    expect(group.get_by_test_id("suggestion-status")).to_have_count(count, timeout=UI_TIMEOUT_MS)
    expect(group.get_by_test_id("suggestion-status")).to_have_text(["Approved"] * count)
    apply_button = page.get_by_test_id("apply-approved")
    expect(apply_button).to_have_text(f"Apply approved ({count})")
    axe.check(page, "group-approved")
    page.get_by_test_id("suggestions").screenshot(path=str(output_dir / "suggestions.png"))

    approved = api(stack, "GET", f"/api/suggestions?budgetId={budget_id}&status=approved")["suggestions"]
    assert {s["payeeKey"] for s in approved} == {payee}
    assert len(approved) == count

    apply_button.click()

    banner = page.get_by_test_id("apply-status")
    expect(banner).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(banner.get_by_test_id("apply-status-badge")).to_have_text("Succeeded", timeout=JOB_TIMEOUT_MS)
    expect(banner).to_contain_text(re.compile(r"\d+ categor(y|ies) applied, \d+ skipped"))
    detail = page.get_by_test_id("job-detail")
    expect(detail.get_by_test_id("job-detail-label")).to_have_text("Apply Approved Suggestions")
    expect(detail.get_by_test_id("job-detail-status")).to_have_text("Succeeded")
    # The applied group leaves the review list.
    expect(page.locator(f'[data-testid="suggestion-group"][data-payee="{payee}"]')).to_have_count(0, timeout=UI_TIMEOUT_MS)
    expect(apply_button).to_have_text("Apply approved")

    left = api(stack, "GET", f"/api/suggestions?budgetId={budget_id}&status=approved")["suggestions"]
    assert left == []
    assert_not_reloaded(page)


def test_cancel_a_queued_job(page: Page, stack):
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    detail = page.get_by_test_id("job-detail")
    with worker_held(stack):
        page.get_by_test_id("start-budget-sync").click()
        expect(detail.get_by_test_id("job-detail-status")).to_have_text("Queued", timeout=UI_TIMEOUT_MS)
        expect(page.get_by_test_id("job-row").first.get_by_test_id("job-row-status")).to_have_text("Queued")

        cancel = detail.get_by_test_id("cancel-job")
        cancel.focus()
        page.keyboard.press("Enter")  # keyboard works as well as the mouse

        expect(detail.get_by_test_id("job-detail-status")).to_have_text("Canceled", timeout=UI_TIMEOUT_MS)
        expect(detail.get_by_test_id("step-status")).to_have_text(["Canceled"])
        expect(detail.get_by_test_id("cancel-job")).to_have_count(0)
        expect(detail.get_by_test_id("run-again")).to_be_visible()
        expect(page.get_by_test_id("job-row").first.get_by_test_id("job-row-status")).to_have_text("Canceled")
    job = api(stack, "GET", f"/api/jobs?budgetId={budget_id}")["jobs"][0]
    assert job["status"] == "canceled"
    assert job["startedAt"] is None


def test_a_failing_job_shows_its_reason_and_runs_again(page: Page, stack, output_dir, axe):
    budget_id = new_budget(stack, fail_on={"pull_latest": "Bank feed unavailable"})
    open_job_center(page, stack, budget_id)
    page.get_by_test_id("start-budget-sync").click()

    detail = page.get_by_test_id("job-detail")
    expect(detail.get_by_test_id("job-detail-status")).to_have_text("Failed", timeout=JOB_TIMEOUT_MS)
    expect(detail.get_by_test_id("failure-text")).to_have_text("Bank feed unavailable")
    expect(detail.get_by_test_id("failure-reason")).to_contain_text("Sync transactions")
    expect(detail.get_by_test_id("step-failure")).to_have_text("Bank feed unavailable")
    expect(page.get_by_test_id("job-row").first.get_by_test_id("job-row-status")).to_have_text("Failed")
    axe.check(page, "failed-job")
    detail.screenshot(path=str(output_dir / "job-failed.png"))

    detail.get_by_test_id("run-again").click()

    rows = page.get_by_test_id("job-row")
    expect(rows).to_have_count(2, timeout=UI_TIMEOUT_MS)
    expect(rows.first.get_by_test_id("job-row-label")).to_have_text("Sync Budget")
    expect(detail.get_by_test_id("job-detail-status")).to_have_text("Failed", timeout=JOB_TIMEOUT_MS)
    expect(rows.get_by_test_id("job-row-status")).to_have_text(["Failed", "Failed"])
    assert_not_reloaded(page)


def test_the_poller_revalidates_with_etags_and_gets_304s(page: Page, stack):
    budget_id = new_budget(stack)
    answers = []
    page.on("response", lambda r: "/api/jobs" in r.url and answers.append(r))
    open_job_center(page, stack, budget_id)

    # Nothing runs: the next poll comes after about 10 s and the unchanged list answers 304.
    with page.expect_response(lambda r: "/api/jobs?" in r.url and r.status == 304, timeout=25_000) as info:
        pass
    not_modified = info.value
    sent = not_modified.request.all_headers()
    assert sent.get("if-none-match"), "the poller did not send If-None-Match"
    assert sent["if-none-match"] == not_modified.all_headers().get("etag")
    assert any(r.status == 200 for r in answers), "the first answer should carry the data"
    # The 304 left the list as it was.
    expect(page.get_by_test_id("jobs-empty")).to_be_visible()


def test_polling_pauses_while_the_tab_is_hidden(page: Page, stack):
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    polls = []
    page.on("request", lambda r: "/api/jobs?" in r.url and polls.append(r))
    with worker_held(stack):
        page.get_by_test_id("start-budget-sync").click()
        expect(page.get_by_test_id("job-detail-status")).to_have_text("Queued", timeout=UI_TIMEOUT_MS)
        # While a job is queued the page polls about every second.
        with page.expect_request(lambda r: "/api/jobs?" in r.url, timeout=3_000):
            pass
        page.evaluate("""() => {
            Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
            Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
            document.dispatchEvent(new Event("visibilitychange"));
        }""")
        before = len(polls)
        page.wait_for_timeout(3_500)  # proving an absence takes time; three fast polls would fit here
        assert len(polls) - before <= 1, "the page kept polling while hidden"
        with page.expect_request(lambda r: "/api/jobs?" in r.url, timeout=1_000):
            page.evaluate("""() => {
                Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
                Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "visible"});
                document.dispatchEvent(new Event("visibilitychange"));
            }""")
        page.get_by_test_id("cancel-job").click()
        expect(page.get_by_test_id("job-detail-status")).to_have_text("Canceled", timeout=UI_TIMEOUT_MS)


def test_readable_at_phone_width(page: Page, stack, output_dir, axe):
    budget_id = new_budget(stack)
    page.set_viewport_size({"width": 375, "height": 812})
    open_job_center(page, stack, budget_id)
    run_sync_and_generate(page)
    expect(page.get_by_test_id("suggestion-group").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at phone width ({width}px)"
    axe.check(page, "375px")
    page.get_by_test_id("suggestion-group").first.screenshot(path=str(output_dir / "suggestions-phone.png"))


def test_retry_a_payee_group_and_full_resync(page: Page, stack):
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    run_sync_and_generate(page)
    detail = page.get_by_test_id("job-detail")

    group = page.get_by_test_id("suggestion-group").first
    expect(group).to_be_visible(timeout=UI_TIMEOUT_MS)
    payee = group.get_attribute("data-payee")
    group.get_by_test_id("group-retry").focus()
    page.keyboard.press("Space")

    rows = page.get_by_test_id("job-row")
    expect(rows).to_have_count(2, timeout=UI_TIMEOUT_MS)
    expect(rows.first.get_by_test_id("job-row-label")).to_have_text("Retry Suggestions (Payee Group)")
    expect(detail.get_by_test_id("job-detail-status")).to_have_text("Succeeded", timeout=JOB_TIMEOUT_MS)
    expect(detail.get_by_test_id("step-result")).to_have_text(re.compile(r"\d+ suggestions?, \d+ skipped"))
    retried = api(stack, "GET", f"/api/jobs?budgetId={budget_id}")["jobs"][0]
    assert retried["metadata"]["payeeKey"] == payee
    expect(page.locator(f'[data-testid="suggestion-group"][data-payee="{payee}"]')).to_be_visible()

    page.get_by_test_id("full-resync").check()
    run_sync_and_generate(page)
    expect(detail).to_contain_text("Full resync")
    expect(rows).to_have_count(3)
    latest = api(stack, "GET", f"/api/jobs?budgetId={budget_id}")["jobs"][0]
    assert latest["type"] == "sync_and_suggest" and latest["metadata"]["fullResync"] is True


def test_job_list_filters_and_load_more(page: Page, stack):
    budget_id = new_budget(stack)
    created = []
    for i in range(22):  # one more page than the page size (20) and a bit
        job = stack.post_job("snapshot-create" if i % 2 else "budget-sync", budget_id)
        created.append(stack.wait_job(job["id"])["job"])
    assert all(j["status"] == "succeeded" for j in created)

    open_job_center(page, stack, budget_id)
    rows = page.get_by_test_id("job-row")
    expect(rows).to_have_count(20, timeout=UI_TIMEOUT_MS)
    expect(rows.first).to_have_attribute("data-job-id", created[-1]["id"])  # newest first
    more = page.get_by_test_id("load-more")
    expect(more).to_be_visible()
    more.click()
    expect(rows).to_have_count(22, timeout=UI_TIMEOUT_MS)
    expect(rows.last).to_have_attribute("data-job-id", created[0]["id"])
    expect(more).to_be_hidden()

    page.get_by_test_id("filter-type").select_option("snapshot_create")
    expect(rows).to_have_count(11, timeout=UI_TIMEOUT_MS)
    expect(rows.get_by_test_id("job-row-label")).to_have_text(["Create Snapshot"] * 11)
    rows.first.click()
    expect(page.get_by_test_id("step-result")).to_have_text(re.compile(r"Snapshot \S+: [\d,]+ transactions, \d+ categories"), timeout=UI_TIMEOUT_MS)

    page.get_by_test_id("filter-status").select_option("failed")
    expect(rows).to_have_count(0, timeout=UI_TIMEOUT_MS)
    expect(page.get_by_test_id("jobs-empty")).to_have_text("No jobs match these filters.")
    page.get_by_test_id("filter-type").select_option("")
    page.get_by_test_id("filter-status").select_option("")
    expect(rows).to_have_count(20, timeout=UI_TIMEOUT_MS)
