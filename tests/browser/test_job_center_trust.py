"""The Job Center as people use it (issue 13): errors beside what failed, a trustworthy connection
state, snapshots to see and download, wording that says what is true, and usable at 320 px and in
dark mode. axe-core runs in every state these tests reach.

Failures are real: the web process is stopped, or the server refuses a request because another
"tab" (a direct API call) changed the data first. The page's own code is never mocked; to make the
click, not a background poll, be what meets the failure, the tab is marked hidden (the page then
pauses its polling, as it does for a background tab) and visible again afterwards.
"""
from __future__ import annotations

import datetime as dt
import re
import sqlite3

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import (
    JOB_TIMEOUT_MS, OFFLINE_TIMEOUT_MS, UI_TIMEOUT_MS, api, assert_not_reloaded, new_budget, open_job_center,
    run_sync_and_generate, set_hidden, start_web, stop_web,
)
from tests.support.stack import iso

pytestmark = pytest.mark.browser

NETWORK_ERRORS = r"Failed to load resource|ERR_CONNECTION_REFUSED|net::ERR_"
SUGGESTIONS_REFRESH_MS = 25_000  # the page looks at the review list again every 10 s


def group_of(page: Page, payee: str):
    return page.locator(f'[data-testid="suggestion-group"][data-payee="{payee}"]')


def first_payee(page: Page) -> str:
    group = page.get_by_test_id("suggestion-group").first
    expect(group).to_be_visible(timeout=UI_TIMEOUT_MS)
    return group.get_attribute("data-payee")


def clock_time(when: dt.datetime, today: dt.date) -> str:
    """The page's time of day ("14:05", or "Dec 1, 14:05" on another day), the browser being in UTC."""
    text = when.strftime("%H:%M")
    return text if when.date() == today else f"{when:%b} {when.day}, {text}"


# ------------------------------------------------------------------------------------ 1. errors

def test_a_review_that_cannot_reach_the_server_says_so_beside_the_group_until_the_next_success(
        page: Page, stack, console, axe, output_dir):
    console.allow(NETWORK_ERRORS)
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    run_sync_and_generate(page)
    payee = first_payee(page)
    group = group_of(page, payee)
    approve = group.get_by_test_id("group-approve")
    error = group.get_by_test_id("inline-error")

    set_hidden(page, True)  # no poll in between: the click is what meets the stopped server
    stop_web(stack)
    try:
        approve.click()
        expect(error).to_have_text(
            re.compile(r"^Could not approve .+\. Could not reach budget-assist\. Try again once it is back"),
            timeout=UI_TIMEOUT_MS)
        # Beside the control, tied to it, on screen where the click was, and announced.
        assert approve.get_attribute("aria-describedby") == error.get_attribute("id")
        expect(error).to_be_in_viewport()
        expect(page.get_by_test_id("alert")).to_have_text(error.inner_text())
        expect(page.get_by_test_id("alert")).to_have_attribute("role", "alert")
        assert "Failed to fetch" not in error.inner_text() and "500" not in error.inner_text()
        # The failed request also told the page that the server is gone.
        expect(page.get_by_test_id("connection-status")).to_contain_text("Offline")
        expect(approve).to_have_attribute("aria-disabled", "true")
        axe.check(page, "error-shown")
        page.screenshot(path=str(output_dir / "error-beside-control.png"))
    finally:
        start_web(stack)
    set_hidden(page, False)

    expect(page.get_by_test_id("connection-status")).to_contain_text("Back online", timeout=OFFLINE_TIMEOUT_MS)
    expect(approve).not_to_have_attribute("aria-disabled", "true")
    expect(error).to_be_visible()  # it stays until the next call succeeds
    approve.click()
    expect(group.get_by_test_id("suggestion-status").first).to_have_text("Approved", timeout=UI_TIMEOUT_MS)
    expect(error).to_have_count(0)
    expect(page.get_by_test_id("alert")).to_have_text("")
    assert approve.get_attribute("aria-describedby") is None
    assert_not_reloaded(page)


def test_a_request_the_server_refuses_explains_itself_beside_the_button(page: Page, stack, console, output_dir):
    console.allow(r"status of 422")
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    run_sync_and_generate(page)
    groups = page.get_by_test_id("suggestion-group")
    expect(groups.nth(1)).to_be_visible(timeout=UI_TIMEOUT_MS)
    first, second = groups.nth(0).get_attribute("data-payee"), groups.nth(1).get_attribute("data-payee")
    group_of(page, first).get_by_test_id("group-approve").click()
    apply = page.get_by_test_id("apply-approved")
    expect(apply).to_have_text(re.compile(r"^Apply approved \(\d+\)$"), timeout=UI_TIMEOUT_MS)

    set_hidden(page, True)
    approved = api(stack, "GET", f"/api/suggestions?budgetId={budget_id}&status=approved")["suggestions"]
    api(stack, "POST", "/api/suggestions/reject", {"suggestionIds": [s["id"] for s in approved]})  # another tab
    apply.click()

    error = page.get_by_test_id("suggestions").locator('[data-error-for="apply"]')
    expect(error).to_have_text(re.compile(
        r"^Could not apply the approved suggestions\. Some of these suggestions are no longer approved or no "
        r"longer exist; they changed meanwhile, perhaps in another tab\. The page has been refreshed; look again "
        r"before you retry\.$"), timeout=UI_TIMEOUT_MS)
    assert apply.get_attribute("aria-describedby") == error.get_attribute("id")
    expect(error).to_be_in_viewport()
    page.screenshot(path=str(output_dir / "error-refused.png"))

    set_hidden(page, False)  # the page looks again: the rejected group has left the review
    expect(group_of(page, first)).to_have_count(0, timeout=UI_TIMEOUT_MS)
    expect(apply).to_have_text("Apply approved")
    expect(error).to_be_visible()

    group_of(page, second).get_by_test_id("group-approve").click()
    expect(apply).to_have_text(re.compile(r"^Apply approved \(\d+\)$"), timeout=UI_TIMEOUT_MS)
    apply.click()
    expect(page.get_by_test_id("apply-status")).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(error).to_have_count(0)
    expect(page.get_by_test_id("apply-status-badge")).to_have_text("Succeeded", timeout=JOB_TIMEOUT_MS)


# ------------------------------------------------------------------------------------ 2. offline

def test_offline_is_announced_actions_pause_and_the_page_catches_up(page: Page, stack, console, axe, output_dir):
    console.allow(NETWORK_ERRORS)
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    run_sync_and_generate(page)
    status = page.get_by_test_id("connection-status")
    expect(status).to_have_attribute("role", "status")  # a live region, there before anything happens
    expect(status).to_have_text("")

    stop_web(stack)
    try:
        expect(status).to_contain_text("Offline: budget-assist cannot be reached", timeout=OFFLINE_TIMEOUT_MS)
        expect(page.get_by_test_id("live-indicator")).to_have_text("Offline · retrying")
        for test_id in ("start-sync-and-suggest", "start-budget-sync", "start-snapshot-create", "apply-approved",
                        "refresh-suggestions"):
            expect(page.get_by_test_id(test_id)).to_have_attribute("aria-disabled", "true")
        expect(page.get_by_test_id("group-approve").first).to_have_attribute("aria-disabled", "true")
        expect(page.get_by_test_id("suggestion-approve").first).to_have_attribute("aria-disabled", "true")
        posts = []
        page.on("request", lambda r: r.method == "POST" and posts.append(r.url))
        page.get_by_test_id("start-budget-sync").click(force=True)  # force: playwright itself sees them disabled
        page.get_by_test_id("group-approve").first.click(force=True)
        assert posts == [], f"a paused action still sent {posts}"
        expect(status).to_be_in_viewport()  # sticky: seen wherever the page is scrolled
        axe.check(page, "offline")
        page.screenshot(path=str(output_dir / "offline.png"))
        page.get_by_test_id("suggestions").scroll_into_view_if_needed()
        expect(status).to_be_in_viewport()
        page.screenshot(path=str(output_dir / "offline-scrolled.png"))

        # While the page is away (hidden, so it cannot notice early), the server comes back and things change.
        set_hidden(page, True)
    finally:
        start_web(stack)
    other = new_budget(stack, name="Arrived while offline")
    job = stack.post_job("snapshot-create", budget_id)
    set_hidden(page, False)

    expect(status).to_contain_text("Back online. The page has caught up.", timeout=OFFLINE_TIMEOUT_MS)
    expect(page.get_by_test_id("start-sync-and-suggest")).not_to_have_attribute("aria-disabled", "true")
    expect(page.locator(f'[data-testid="job-row"][data-job-id="{job["id"]}"]')).to_be_visible()
    expect(page.get_by_test_id("budget-picker").locator(f'option[value="{other}"]')).to_have_text(
        "Arrived while offline (demo)")
    page.screenshot(path=str(output_dir / "back-online.png"))
    expect(page.get_by_test_id("snapshot")).to_have_count(1, timeout=JOB_TIMEOUT_MS)  # the job finished meanwhile
    expect(status).to_have_text("", timeout=15_000)  # "Back online" goes after a few seconds
    assert_not_reloaded(page)


# ------------------------------------------------------------------------------------ 3. snapshots

def test_a_snapshot_job_lists_its_snapshot_and_the_file_downloads_as_sqlite(page: Page, stack, axe, output_dir,
                                                                            tmp_path):
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    expect(page.get_by_test_id("snapshots-empty")).to_be_visible(timeout=UI_TIMEOUT_MS)
    # Labels say what a job does; the start area explains the ones that need it.
    expect(page.get_by_test_id("start-snapshot-redownload")).to_have_text("Download Budget Again")
    described = page.get_by_test_id("start-snapshot-redownload").get_attribute("aria-describedby")
    expect(page.locator(f"#{described}")).to_contain_text("downloads it afresh")
    full = page.get_by_test_id("full-resync")
    expect(page.locator(f"#{full.get_attribute('aria-describedby')}")).to_contain_text(
        "Full resync downloads the whole budget again")

    page.get_by_test_id("start-snapshot-create").click()
    detail = page.get_by_test_id("job-detail")
    expect(detail.get_by_test_id("job-detail-status")).to_have_text("Succeeded", timeout=JOB_TIMEOUT_MS)
    snapshot = page.get_by_test_id("snapshot")
    expect(snapshot).to_have_count(1, timeout=UI_TIMEOUT_MS)

    (listed,) = api(stack, "GET", f"/api/budgets/{budget_id}/snapshots")["snapshots"]
    job_id = api(stack, "GET", f"/api/jobs?budgetId={budget_id}")["jobs"][0]["id"]
    assert listed["jobId"] == job_id
    expect(snapshot).to_have_attribute("data-job-id", job_id)
    kb = f"{listed['sizeBytes'] / 1024:.1f} KB" if listed["sizeBytes"] < 1024 * 1024 else \
        f"{listed['sizeBytes'] / 1024 / 1024:.1f} MB"
    expect(snapshot.get_by_test_id("snapshot-facts")).to_have_text(
        f"{kb} · {listed['transactions']:,} transactions · {listed['categories']} categories")
    created = iso(listed["createdAt"])
    expect(snapshot.get_by_test_id("snapshot-when")).to_contain_text(f"{created:%b} {created.day}, {created:%Y}, "
                                                                     f"{created:%H:%M}")
    expect(snapshot.get_by_test_id("snapshot-job")).to_have_text("Create Snapshot")
    expect(snapshot).to_contain_text("started by you")
    axe.check(page, "snapshots-listed")
    page.get_by_test_id("snapshots").screenshot(path=str(output_dir / "snapshots.png"))

    with page.expect_download() as info:
        snapshot.get_by_test_id("snapshot-download").click()
    download = info.value
    assert re.fullmatch(r"Browser-test-[0-9a-f]{8}-snapshot-\d{4}-\d\d-\d\d-\d{6}\.sqlite", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert path.stat().st_size == listed["sizeBytes"]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables, "the downloaded file holds no tables"

    # "Made by" opens the job that made it.
    page.get_by_test_id("job-row").first.click()  # another selection first
    page.get_by_test_id("start-budget-sync").click()
    expect(detail.get_by_test_id("job-detail-label")).to_have_text("Sync Budget", timeout=UI_TIMEOUT_MS)
    snapshot.get_by_test_id("snapshot-job").click()
    expect(detail.get_by_test_id("job-detail-label")).to_have_text("Create Snapshot", timeout=UI_TIMEOUT_MS)
    expect(detail).to_contain_text(job_id)


# ------------------------------------------------------------------------------------ 4. wording

def test_a_running_job_says_for_how_long_and_a_retrying_job_says_when(page: Page, stack, axe, output_dir):
    slow = new_budget(stack, delay_on={"pull_latest": 60})
    open_job_center(page, stack, slow)
    page.get_by_test_id("start-budget-sync").click()
    row = page.get_by_test_id("job-row").first
    detail = page.get_by_test_id("job-detail")
    expect(row.get_by_test_id("job-row-status")).to_have_text("Running", timeout=JOB_TIMEOUT_MS)
    timing = row.get_by_test_id("job-row-timing")
    expect(timing).to_have_text(re.compile(r"^Running for \d+(\.\d)? (ms|s)$"))
    expect(timing).to_have_text(re.compile(r"^Running for ([2-9]\.\d|\d\d) s$"), timeout=15_000)  # it ticks
    assert "Took" not in row.inner_text()
    expect(detail.locator("dt", has_text="Running for")).to_have_count(1)
    expect(detail.get_by_test_id("step").first).to_contain_text("running for")
    expect(detail.get_by_test_id("step").first).not_to_contain_text("took")
    axe.check(page, "job-running")
    page.screenshot(path=str(output_dir / "job-running.png"))
    detail.get_by_test_id("cancel-job").click()  # frees the worker for the next part
    expect(detail.get_by_test_id("job-detail-status")).to_have_text("Canceled", timeout=JOB_TIMEOUT_MS)
    expect(timing).to_have_text(re.compile(r"^Took "))

    flaky = new_budget(stack, fail_on={"pull_latest": "transient:5:The bank did not answer"})
    open_job_center(page, stack, flaky)
    page.get_by_test_id("start-budget-sync").click()
    row = page.get_by_test_id("job-row").first
    timing = row.get_by_test_id("job-row-timing")
    # a sync outlasts a server restart: 4 attempts, the scheduled job's schedule (issue 16 item 5)
    expect(timing).to_have_text(re.compile(r"^Retrying at .*\d\d:\d\d \(attempt [23] of 4\)$"), timeout=JOB_TIMEOUT_MS)
    job = api(stack, "GET", f"/api/jobs?budgetId={flaky}")["jobs"][0]
    assert job["status"] == "queued" and job["nextAttemptAt"] and job["maxAttempts"] == 4
    today = dt.datetime.now(dt.timezone.utc).date()
    expected = f"Retrying at {clock_time(iso(job['nextAttemptAt']), today)} (attempt {job['attempt'] + 1} of 4)"
    expect(timing).to_have_text(expected)
    expect(row.get_by_test_id("job-row-status")).to_have_text("Queued")
    expect(detail.get_by_test_id("job-retry")).to_contain_text(expected)
    expect(detail.get_by_test_id("step-waits")).to_have_text(
        f"Waits for the retry at {clock_time(iso(job['nextAttemptAt']), today)}")
    expect(detail).not_to_contain_text("Waits for a worker")
    expect(detail.get_by_test_id("event").last).to_contain_text("The bank did not answer")
    page.screenshot(path=str(output_dir / "job-retrying.png"))
    detail.get_by_test_id("cancel-job").click()
    expect(detail.get_by_test_id("job-detail-status")).to_have_text("Canceled", timeout=UI_TIMEOUT_MS)


def test_an_apply_explains_the_new_transactions_its_own_sync_brought(page: Page, stack, output_dir):
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    run_sync_and_generate(page)
    group_of(page, first_payee(page)).get_by_test_id("group-approve").click()
    apply = page.get_by_test_id("apply-approved")
    expect(apply).to_have_text(re.compile(r"^Apply approved \(\d+\)$"), timeout=UI_TIMEOUT_MS)
    apply.click()  # the demo bank has new transactions by now: the sync that follows the apply brings them
    banner = page.get_by_test_id("apply-status")
    expect(banner.get_by_test_id("apply-status-badge")).to_have_text("Succeeded", timeout=JOB_TIMEOUT_MS)
    steps = api(stack, "GET", f"/api/jobs/{page.get_by_test_id('job-row').first.get_attribute('data-job-id')}")["steps"]
    fresh = sum(s["result"].get("new", 0) for s in steps if s["position"] > 0 and s["result"])
    note = banner.get_by_test_id("apply-sync-note")
    if fresh:
        expect(note).to_have_text(re.compile(
            rf"^The sync after applying brought {fresh:,} new transactions? from the budget\. This job does not "
            r"suggest categories for them; “Sync & Generate Suggestions” does\.$"))
        expect(page.get_by_test_id("job-detail").get_by_test_id("apply-sync-note")).to_be_visible()
    else:
        expect(note).to_have_count(0)
    banner.screenshot(path=str(output_dir / "apply-banner.png"))


def test_a_review_made_in_another_tab_shows_up_with_a_note(page: Page, stack, output_dir):
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    run_sync_and_generate(page)
    payee = first_payee(page)
    group = group_of(page, payee)
    title = group.get_by_test_id("group-payee").inner_text()
    pending = [s["id"] for s in api(stack, "GET", f"/api/suggestions?budgetId={budget_id}&status=pending")["suggestions"]
               if s["payeeKey"] == payee]
    api(stack, "POST", "/api/suggestions/approve", {"suggestionIds": pending})  # another tab

    expect(group.get_by_test_id("suggestion-status")).to_have_count(len(pending), timeout=SUGGESTIONS_REFRESH_MS)
    notice = page.get_by_test_id("suggestions-notice")
    expect(notice).to_contain_text(f"{title}: {len(pending)} approved")
    expect(notice).to_contain_text("in another tab or by a job")
    expect(page.get_by_test_id("announcer")).to_contain_text(f"{title}: {len(pending)} approved")
    page.get_by_test_id("suggestions").screenshot(path=str(output_dir / "changed-elsewhere.png"))
    notice.get_by_test_id("dismiss-notice").click()
    expect(notice).to_be_hidden()
    assert_not_reloaded(page)


# ------------------------------------------------------------------------------------ 5. accessibility

def test_no_sideways_scrolling_at_320_px(make_page, stack, axe, output_dir):
    budget_id = new_budget(stack)
    stack.wait_job(stack.post_job("snapshot-create", budget_id)["id"])
    page = make_page(viewport={"width": 320, "height": 640})  # 1280 px at 400 % zoom
    open_job_center(page, stack, budget_id)
    run_sync_and_generate(page)
    expect(page.get_by_test_id("suggestion-group").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.get_by_test_id("snapshot")).to_have_count(1)
    page.get_by_test_id("filter-type").select_option(label="Retry Suggestions (Payee Group)")
    page.get_by_test_id("filter-type").select_option("")

    def assert_fits(what: str) -> None:
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter((el) => el.getBoundingClientRect().right > 320.5 && el.getClientRects().length)
            .slice(-5).map((el) => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))""")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{what}: the page scrolls sideways at 320 px ({width} px of content): {wide}"
        assert not wide, f"{what}: elements past the right edge: {wide}"

    assert_fits("with a job selected and suggestions listed")
    box = page.get_by_test_id("filter-type").bounding_box()
    assert box["x"] + box["width"] <= 320
    axe.check(page, "320px")
    page.screenshot(path=str(output_dir / "w320.png"), full_page=False)
    page.get_by_test_id("job-list").scroll_into_view_if_needed()
    page.screenshot(path=str(output_dir / "w320-jobs.png"), full_page=False)


def test_dark_mode_passes_axe_and_keeps_the_focus_ring_visible(make_page, stack, axe, output_dir):
    budget_id = new_budget(stack)
    page = make_page(color_scheme="dark")
    open_job_center(page, stack, budget_id)
    run_sync_and_generate(page)
    expect(page.get_by_test_id("suggestion-group").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    axe.check(page, "dark-mode")
    page.screenshot(path=str(output_dir / "dark-mode.png"))
    assert focus_ring_contrast(page, output_dir / "focus-ring-dark.png") >= 3


def test_the_focus_ring_has_three_to_one_contrast_and_landmarks_are_few(page: Page, stack, output_dir):
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    run_sync_and_generate(page)
    expect(page.get_by_test_id("suggestion-group").nth(5)).to_be_visible(timeout=UI_TIMEOUT_MS)
    assert focus_ring_contrast(page, output_dir / "focus-ring.png") >= 3
    landmarks = page.evaluate("""() => [...document.querySelectorAll(
        'header, main, nav, aside, footer, form[aria-label], form[aria-labelledby], section[aria-label], '
        + 'section[aria-labelledby], [role=region], [role=banner], [role=main], [role=navigation], '
        + '[role=complementary], [role=contentinfo], [role=search]')]
        // a header or footer inside main or a section is not a landmark
        .filter((el) => !['HEADER', 'FOOTER'].includes(el.tagName) || !el.parentElement.closest('main, section, article, aside, nav'))
        .length""")
    assert landmarks <= 10, f"{landmarks} landmarks"
    groups = page.get_by_test_id("suggestion-group")
    assert groups.count() > 5
    expect(groups.first).to_have_attribute("role", "group")
    retry = groups.first.get_by_test_id("group-retry")
    expect(retry).to_have_text("Retry")
    assert retry.get_attribute("aria-label").startswith("Retry ")


def focus_ring_contrast(page: Page, screenshot) -> float:
    """Tab from the budget picker (past the session bar) to the first start button; measure its outline."""
    page.get_by_test_id("budget-picker").focus()
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.dataset.testid") == "start-sync-and-suggest":
            break
    colors = page.evaluate("""() => {
        const el = document.activeElement;
        const style = getComputedStyle(el);
        const panel = getComputedStyle(el.closest('.panel'));
        return {outline: style.outlineColor, width: style.outlineWidth, styleName: style.outlineStyle,
                behind: panel.backgroundColor, testid: el.dataset.testid};
    }""")
    assert colors["testid"] == "start-sync-and-suggest", colors
    assert colors["styleName"] == "solid" and float(colors["width"].rstrip("px")) >= 2, colors
    box = page.get_by_test_id("start-sync-and-suggest").bounding_box()
    page.screenshot(path=str(screenshot), clip={"x": box["x"] - 12, "y": box["y"] - 12,
                                                "width": box["width"] + 24, "height": box["height"] + 24})
    return contrast(colors["outline"], colors["behind"])


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two rgb()/rgba() colors."""
    def luminance(color: str) -> float:
        r, g, b = (int(x) / 255 for x in re.findall(r"\d+", color)[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
