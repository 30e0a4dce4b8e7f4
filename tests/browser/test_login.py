"""The login page, logout and the API tokens panel in a real Chromium against the real stack."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

UI_TIMEOUT_MS = 5000


@pytest.fixture
def fresh_page(browser, console):
    """A logged-out page that fails the test on console errors (CSP violations included)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC")
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    try:
        yield page
    finally:
        context.close()
    assert not console.errors, "the page logged errors:\n" + "\n".join(console.errors)


def test_a_wrong_password_is_said_on_the_page_and_the_right_one_opens_the_job_center(fresh_page, stack, console):
    page = fresh_page
    page.goto(f"{stack.base_url}/")
    page.wait_for_url(f"{stack.base_url}/login?next=%2F")
    page.get_by_test_id("login-password").fill("not the password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_have_text("The password is not right.", timeout=UI_TIMEOUT_MS)
    # Chromium logs the expected 401 of the wrong password as a failed resource load; nothing else may appear
    assert [e for e in console.errors if "401" not in e or "/api/session" not in e] == []
    console.errors.clear()
    page.get_by_test_id("login-password").fill(stack.password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{stack.base_url}/")
    expect(page.get_by_test_id("budget-picker")).to_be_enabled(timeout=UI_TIMEOUT_MS)
    cookie = next(c for c in page.context.cookies() if c["name"] == "ba_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # not readable from script


def test_create_and_revoke_a_token_from_the_page_then_log_out(page, stack):
    page.goto(f"{stack.base_url}/")
    settings = page.get_by_test_id("settings")
    settings.get_by_test_id("token-name").fill("phone shortcut")
    settings.get_by_role("button", name="Create token").click()
    secret = settings.get_by_test_id("token-secret").locator("code")
    expect(secret).to_contain_text("ba_", timeout=UI_TIMEOUT_MS)
    token = secret.text_content()
    assert requests.get(f"{stack.base_url}/api/jobs", headers={"Authorization": f"Bearer {token}"},
                        timeout=10).status_code == 200
    row = settings.get_by_test_id("token-row").filter(has_text="phone shortcut")
    row.get_by_role("button", name="Revoke").click()
    expect(settings.get_by_test_id("token-row").filter(has_text="phone shortcut")).to_have_count(0,
                                                                                                  timeout=UI_TIMEOUT_MS)
    assert requests.get(f"{stack.base_url}/api/jobs", headers={"Authorization": f"Bearer {token}"},
                        timeout=10).status_code == 401
    page.get_by_test_id("logout").click()
    page.wait_for_url(f"{stack.base_url}/login?next=%2F")
    assert requests.get(f"{stack.base_url}/api/jobs", timeout=10).status_code == 401


def test_without_a_password_the_page_says_it_is_open_to_this_computer(fresh_page, tmp_path):
    from tests.support.stack import Stack

    open_stack = Stack(tmp_path / "data", {"AUTH_PASSWORD": ""}).start(workers=0)
    try:
        fresh_page.goto(f"{open_stack.base_url}/")
        notice = fresh_page.get_by_test_id("open-notice")
        expect(notice).to_contain_text("No password is set", timeout=UI_TIMEOUT_MS)
        expect(fresh_page.get_by_test_id("logout")).to_have_count(0)
        assert "no AUTH_PASSWORD set" in open_stack.logs()
    finally:
        fresh_page.goto("about:blank")  # the page stops polling before its server goes (no failed loads logged)
        open_stack.stop()
