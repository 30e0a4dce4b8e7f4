"""The review a person can finish (issue 12), in Chromium against the real stack, without a reload:
correct with the keyboard only, categorize by hand, approve a group with "Always", apply, undo."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_job_center import (JOB_TIMEOUT_MS, UI_TIMEOUT_MS, api, assert_not_reloaded, new_budget,
                                           open_job_center, run_sync_and_generate)

pytestmark = pytest.mark.browser


def focused_testid(page: Page) -> str | None:
    return page.evaluate("document.activeElement && document.activeElement.getAttribute('data-testid')")


def test_correct_by_keyboard_categorize_by_hand_always_apply_and_undo(page: Page, stack, output_dir):
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    run_sync_and_generate(page)

    # the page says how many wait and takes the reviewer there
    callout = page.get_by_test_id("review-callout")
    expect(callout).to_contain_text(re.compile(r"\d+ suggestions? waiting for review"), timeout=UI_TIMEOUT_MS)
    callout.get_by_test_id("go-review").press("Enter")
    assert focused_testid(page) == "suggestion-approve"
    expect(callout).to_be_hidden()

    groups = page.get_by_test_id("suggestion-group")
    expect(groups.first).to_be_visible(timeout=UI_TIMEOUT_MS)
    spoken = page.get_by_test_id("suggestion-spoken").first
    expect(spoken).to_have_text(re.compile(r"^suggested .+, \d{1,3} % confident$"))

    # 1. correct with the keyboard only: Change… -> type -> arrow -> Enter
    row = page.get_by_test_id("suggestion").first
    sid = row.get_attribute("data-suggestion-id")
    proposed = row.get_by_test_id("suggestion-category").inner_text()
    row.get_by_test_id("suggestion-change").focus()
    page.keyboard.press("Enter")
    picker = page.get_by_test_id("picker")
    expect(picker).to_be_visible(timeout=UI_TIMEOUT_MS)
    assert focused_testid(page) == "picker-input"
    target = "Electronics" if proposed != "Electronics" else "Clothing"
    page.keyboard.type(target[:-2])
    expect(picker.locator("[data-testid=picker-option]:visible")).to_have_count(1)
    page.locator('[data-testid="suggestion-group"]', has=picker).screenshot(path=str(output_dir / "review-picker.png"))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    row = page.locator(f'[data-suggestion-id="{sid}"]')
    expect(row.get_by_test_id("suggestion-status")).to_have_text("Approved", timeout=UI_TIMEOUT_MS)
    expect(row.get_by_test_id("suggestion-category")).to_have_text(target)
    expect(row.get_by_test_id("suggestion-corrected")).to_have_text(f"was {proposed}")
    expect(picker).to_have_count(0)
    got = next(s for s in api(stack, "GET", f"/api/suggestions?budgetId={budget_id}&status=approved")["suggestions"]
               if s["id"] == sid)
    assert got["corrected"] and got["categoryName"] == target and got["proposedCategoryName"] == proposed

    # focus moves on to the next row to review after a reject
    pending_rows = page.locator('[data-testid="suggestion"][data-status="pending"]')
    victim = pending_rows.first
    victim_id = victim.get_attribute("data-suggestion-id")
    victim_tx = next(s for s in api(stack, "GET", f"/api/suggestions?budgetId={budget_id}&status=pending")["suggestions"]
                     if s["id"] == victim_id)["transactionId"]
    victim.get_by_test_id("suggestion-reject").focus()
    page.keyboard.press("Enter")
    expect(page.locator(f'[data-suggestion-id="{victim_id}"]')).to_have_count(0, timeout=UI_TIMEOUT_MS)
    assert focused_testid(page) == "suggestion-approve"

    # 2. categorize by hand what has no suggestion (the rejected one shows up, with why)
    tx_row = page.locator(f'[data-testid="uncategorized-transaction"][data-transaction-id="{victim_tx}"]')
    expect(tx_row).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(tx_row).to_contain_text("You rejected")
    tx_row.get_by_test_id("uncategorized-choose").click()
    page.keyboard.type("Charity")
    page.keyboard.press("Enter")
    expect(tx_row).to_have_count(0, timeout=UI_TIMEOUT_MS)
    by_hand = page.locator('[data-testid="suggestion"][data-status="approved"]', has_text="by hand")
    expect(by_hand).to_have_count(1, timeout=UI_TIMEOUT_MS)
    expect(by_hand.get_by_test_id("suggestion-category")).to_have_text("Charity")

    # 3. approve a group with "Always" (a rule): one whose rows all propose one category, since a payee approved
    #    with two categories in one apply gets no rule by design (rulesNotCreated); the demo's data decides
    #    which group comes first, and a mixed one there made this test fail now and then
    candidates = page.locator('[data-testid="suggestion-group"]', has_not=page.locator('[data-status="approved"]'))
    payee = next(g.get_attribute("data-payee") for g in candidates.all()
                 if len(set(g.get_by_test_id("suggestion-category").all_text_contents())) == 1)
    group = page.locator(f'[data-testid="suggestion-group"][data-payee="{payee}"]')
    group.get_by_test_id("group-always").check()
    group.get_by_test_id("group-approve").click()
    expect(group.get_by_test_id("suggestion-rule").first).to_have_text("Always (rule)", timeout=UI_TIMEOUT_MS)
    expect(group.locator('[data-status="pending"]')).to_have_count(0)
    assert focused_testid(page) == "suggestion-approve"  # on to the next row, not a disabled button
    approved = api(stack, "GET", f"/api/suggestions?budgetId={budget_id}&status=approved")["suggestions"]
    assert {s["createRule"] for s in approved if s["payeeKey"] == payee} == {True}

    # 4. apply: the result lists the rule
    page.get_by_test_id("apply-approved").click()
    banner = page.get_by_test_id("apply-status")
    expect(banner.get_by_test_id("apply-status-badge")).to_have_text("Succeeded", timeout=JOB_TIMEOUT_MS)
    expect(banner).to_contain_text(re.compile(r"1 rule created: .+ → "))
    expect(page.locator('[data-testid="suggestion"][data-status="approved"]')).to_have_count(0, timeout=UI_TIMEOUT_MS)
    detail = page.get_by_test_id("job-detail")
    expect(detail.get_by_test_id("job-detail-label")).to_have_text("Apply Approved Suggestions")
    expect(detail.get_by_test_id("undo-apply")).to_be_visible(timeout=UI_TIMEOUT_MS)
    apply_job_id = page.evaluate("location.hash").split("job=")[1]

    # 5. undo from the apply job's detail
    detail.get_by_test_id("undo-apply").click()
    undo = page.get_by_test_id("undo-status")
    expect(undo.get_by_test_id("apply-status-badge")).to_have_text("Succeeded", timeout=JOB_TIMEOUT_MS)
    expect(undo).to_contain_text(re.compile(r"\d+ categor(y|ies) restored; 1 rule removed"))
    expect(detail.get_by_test_id("apply-reverted")).to_contain_text("This apply was undone", timeout=UI_TIMEOUT_MS)
    expect(detail.get_by_test_id("undo-apply")).to_have_count(0)
    # the undone decisions are approved again, ready to apply another time
    expect(page.locator('[data-testid="suggestion"][data-status="approved"]').first).to_be_visible(timeout=UI_TIMEOUT_MS)
    detail.screenshot(path=str(output_dir / "review-undone-apply.png"))
    undo.screenshot(path=str(output_dir / "review-undone-banner.png"))
    reverts = api(stack, "GET", f"/api/jobs?budgetId={budget_id}&type=suggestions_revert")["jobs"]
    assert [(j["status"], j["metadata"]["applyJobId"]) for j in reverts] == [("succeeded", apply_job_id)]
    assert_not_reloaded(page)


def test_filters_sort_and_paging(page: Page, stack):
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    run_sync_and_generate(page)
    groups = page.get_by_test_id("suggestion-group")
    expect(groups.first).to_be_visible(timeout=UI_TIMEOUT_MS)
    total = groups.count()
    payee = groups.nth(total - 1).get_attribute("data-payee")
    page.get_by_test_id("filter-payee").fill(payee)
    # the filter finds its text in a payee's name or key, so another payee containing it shows as well
    pending = api(stack, "GET", f"/api/suggestions?budgetId={budget_id}&status=pending")["suggestions"]
    matching = {s["payeeKey"] or s["payeeName"] for s in pending
                if payee.lower() in f"{s['payeeName']} {s['payeeKey']}".lower()}
    assert payee in matching and len(matching) < total
    expect(groups).to_have_count(len(matching))
    assert {g.get_attribute("data-payee") for g in groups.all()} == matching
    page.get_by_test_id("filter-payee").fill("")
    expect(groups).to_have_count(total)
    page.get_by_test_id("sort").select_option("payee")
    titles = [t.inner_text() for t in page.get_by_test_id("group-payee").all()]
    assert titles == sorted(titles, key=str.lower) or titles == sorted(titles)
    page.get_by_test_id("filter-confidence").select_option("0.95")
    for c in page.get_by_test_id("suggestion-confidence").all():
        assert int(c.inner_text().rstrip("%")) >= 95
    assert_not_reloaded(page)


def test_phone_width_picker_and_page_height(page: Page, stack, output_dir):
    page.set_viewport_size({"width": 375, "height": 800})
    budget_id = new_budget(stack)
    open_job_center(page, stack, budget_id)
    for _ in range(5):  # a few syncs: the pending list grows
        run_sync_and_generate(page)
    expect(page.get_by_test_id("suggestion-group").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    pending = api(stack, "GET", f"/api/suggestions?budgetId={budget_id}&status=pending")["suggestions"]
    groups = {s["payeeKey"] for s in pending}
    expect(page.get_by_test_id("suggestion-group")).to_have_count(min(20, len(groups)), timeout=UI_TIMEOUT_MS)
    shown = page.get_by_test_id("suggestion-group").count()
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"phone: {len(pending)} pending in {len(groups)} payee groups, {shown} shown, page {height} px tall")
    approve_ms = page.evaluate("""async () => {
        const row = document.querySelector('[data-testid=suggestion][data-status=pending]');
        const id = row.dataset.suggestionId;
        const t0 = performance.now();
        row.querySelector('[data-testid=suggestion-approve]').click();
        await new Promise((resolve) => {
            const ob = new MutationObserver(() => {
                const el = document.querySelector(`[data-suggestion-id="${id}"]`);
                if (el && el.dataset.status === 'approved') { ob.disconnect(); resolve(); }
            });
            ob.observe(document.body, {subtree: true, childList: true, attributes: true});
        });
        return performance.now() - t0;
    }""")
    request_ms = page.evaluate("""async () => {
        const row = document.querySelector('[data-testid=suggestion][data-status=pending]');
        const t0 = performance.now();
        await fetch(`/api/suggestions/${row.dataset.suggestionId}/reject`, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'});
        return performance.now() - t0;
    }""")
    print(f"phone: approve one row, click to redrawn row: {approve_ms:.0f} ms; the request alone {request_ms:.0f} ms")
    render_ms = page.evaluate("""() => {
        const sel = document.querySelector('[data-testid=sort]');
        const t0 = performance.now();
        for (const v of ['payee', 'count', 'payee', 'count']) { sel.value = v; sel.dispatchEvent(new Event('change')); }
        return (performance.now() - t0) / 4;
    }""")
    print(f"phone: a full re-sort of the list: {render_ms:.1f} ms")
    row = page.get_by_test_id("suggestion").first
    row.get_by_test_id("suggestion-change").click()
    picker = page.get_by_test_id("picker")
    expect(picker).to_be_visible(timeout=UI_TIMEOUT_MS)
    page.keyboard.type("gro")
    expect(picker.locator("[data-testid=picker-option]:visible")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the phone
    picker.screenshot(path=str(output_dir / "review-picker-phone.png"))
    page.keyboard.press("Escape")
    expect(picker).to_have_count(0)
    assert focused_testid(page) == "suggestion-change"  # focus back where the picker was opened
