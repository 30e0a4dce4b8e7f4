"""Removing a budget from the Job Center (issue 16 item 6 on the page): offered only where `GET /api/budgets` says
`removable`, asked for again before anything goes, its refusal shown beside the button, its result said in words.
On a stack of its own with a real Actual sync server, whose budget another client deletes."""
from __future__ import annotations

import re
import warnings

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import JOB_TIMEOUT_MS, UI_TIMEOUT_MS, api, new_budget, open_job_center
from tests.support.actual_fixtures import OtherClient
from tests.support.stack import Stack, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.actual]


@pytest.fixture(scope="module")
def stack(actual_install, actual_server, tmp_path_factory):
    """A stack of its own on the Actual server; one web worker, so what the API lists is what the page gets."""
    s = Stack(tmp_path_factory.mktemp("removal-stack") / "data",
              {"ACTUAL_SERVER_URL": actual_server.url, "ACTUAL_PASSWORD": actual_server.password,
               "WEB_CONCURRENCY": "1", "RETRY_BASE_SECONDS": "0.05", "ACTUAL_LIST_SECONDS": "1"})
    s.start(workers=1)
    try:
        yield s
    finally:
        s.stop()


def server_files(server) -> set[str]:
    from actual import Actual

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Actual(server.url, token=server.token) as actual:
            return {f.file_id for f in actual.list_user_files().data if not f.deleted}


def listed(stack) -> dict[str, dict]:
    return {b["id"]: b for b in api(stack, "GET", "/api/budgets")["budgets"]}


def test_a_budget_deleted_on_the_actual_server_can_be_removed_from_the_page(
        page: Page, stack, actual_server, seed_budget, tmp_path, axe, output_dir, console):
    console.allow(r"status of 409")  # the removal this test makes the server refuse
    kept = seed_budget("Still on the server", n_transactions=20)
    doomed = seed_budget("Gone from the server", n_transactions=60)
    fid = doomed.file_id
    for budget_id, kind in ((fid, "sync-and-suggest"), (kept.file_id, "budget-sync")):
        assert stack.wait_job(stack.post_job(kind, budget_id)["id"], 120)["job"]["status"] == "succeeded"
    suggestions = api(stack, "GET", f"/api/suggestions?budgetId={fid}")["suggestions"]
    assert suggestions

    open_job_center(page, stack, kept.file_id)  # a budget the server still has offers no removal
    expect(page.get_by_test_id("budget-status")).to_be_hidden()
    expect(page.get_by_test_id("budget-remove")).to_have_count(0)

    other = OtherClient(actual_server, fid, tmp_path)
    try:
        other.actual.delete_budget()  # deleted in Actual's web app, on another device
    finally:
        other.close()
    before = server_files(actual_server)
    wait_until(lambda: listed(stack)[fid]["deletedOnServer"], 15, 0.2,
               "the web process to see the deletion (it lists the server's files every ACTUAL_LIST_SECONDS, 1 s here)")

    page.goto("about:blank")  # opened afresh (an open page lists the budgets again within 30 s)
    open_job_center(page, stack, fid)
    expect(page.get_by_test_id("budget-picker").locator("option:checked")).to_have_text(
        "Gone from the server (actual, deleted on the server)")
    note = page.get_by_test_id("budget-status-note")
    expect(note).to_contain_text("Gone from the server was deleted on the Actual server.")
    remove = page.get_by_test_id("budget-remove")
    expect(remove).to_have_accessible_name("Remove budget…")
    expect(remove).to_have_accessible_description(re.compile("deleted on the Actual server"))
    axe.check(page, "budget-deleted-on-server")
    page.screenshot(path=str(output_dir / "budget-deleted-on-server.png"))

    # asked again first; "Keep it" leaves everything as it was
    remove.click()
    question = page.locator("#remove-question")
    expect(question).to_be_focused()
    expect(question).to_have_text("Remove “Gone from the server” from budget-assist? Its suggestions and its local "
                                  "copy are deleted; its jobs and snapshots stay. The Actual server is not changed.")
    axe.check(page, "budget-remove-confirmation")
    page.set_viewport_size({"width": 320, "height": 700})  # 400 % zoom: no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.screenshot(path=str(output_dir / "budget-remove-confirmation-320.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_test_id("budget-remove-cancel").click()
    expect(page.get_by_test_id("budget-remove")).to_be_focused()
    assert fid in listed(stack)

    # refused while a job of it runs: said beside the button, in words, and nothing goes
    stack.inject_faults(fid, delay_on={"pull_latest": 4})
    job = stack.post_job("budget-sync", fid)
    stack.wait_job(job["id"], 30, {"running"})
    page.get_by_test_id("budget-remove").click()
    page.get_by_test_id("budget-remove-confirm").click()
    error = page.get_by_test_id("budget-status").get_by_test_id("inline-error")
    expect(error).to_have_text(re.compile(r"^⚠? ?Could not remove “Gone from the server”\. A job of this budget is "
                                          r"running \(\w{8}\); cancel it or let it finish, then remove the budget\.$"),
                               timeout=UI_TIMEOUT_MS)
    expect(page.get_by_test_id("budget-remove-confirm")).to_have_accessible_description(re.compile("Could not remove"))
    assert fid in listed(stack)
    stack.wait_job(job["id"], JOB_TIMEOUT_MS / 1000)
    stack.inject_faults(fid)

    # removed: said in words and announced; the page moves on to another budget
    page.get_by_test_id("budget-remove-confirm").click()
    done = page.get_by_test_id("budget-removed")
    expect(done).to_have_text(f"Removed “Gone from the server” from budget-assist: {len(suggestions)} suggestions "
                              "dropped, its local copy deleted. Its jobs stay in the history. The Actual server was "
                              "not changed.", timeout=UI_TIMEOUT_MS)
    expect(page.get_by_test_id("announcer")).to_have_text(done.inner_text(), timeout=UI_TIMEOUT_MS)
    expect(page.get_by_test_id("budget-picker")).to_be_focused()
    expect(page.get_by_test_id("budget-picker").locator(f'option[value="{fid}"]')).to_have_count(0)
    expect(page.get_by_test_id("budget-picker")).not_to_have_value(fid)
    expect(page.get_by_test_id("budget-remove")).to_have_count(0)
    axe.check(page, "budget-removed")
    page.screenshot(path=str(output_dir / "budget-removed.png"))
    assert fid not in listed(stack)
    assert not (stack.data_dir / "budgets" / fid).exists()
    assert server_files(actual_server) == before  # the server was only read
    assert api(stack, "GET", f"/api/jobs/{job['id']}")["job"]["budgetId"] == fid  # its history stays


def test_only_a_demo_budget_someone_added_offers_removal_and_another_tab_may_have_removed_it(page: Page, stack,
                                                                                            console):
    console.allow(r"status of 404")  # the removal this test makes fail
    added = new_budget(stack, name="Trying things out")
    open_job_center(page, stack, "demo")  # the built-in demo budget cannot be removed
    expect(page.get_by_test_id("budget-remove")).to_have_count(0)

    open_job_center(page, stack, added)
    expect(page.get_by_test_id("budget-status-note")).to_contain_text("Trying things out is a demo budget you added")
    page.get_by_test_id("budget-remove").click()
    api(stack, "DELETE", f"/api/budgets/{added}")  # another tab was quicker
    page.get_by_test_id("budget-remove-confirm").click()
    error = page.get_by_test_id("budget-status").get_by_test_id("inline-error")
    expect(error).to_contain_text("Could not remove “Trying things out”. It no longer exists", timeout=UI_TIMEOUT_MS)
