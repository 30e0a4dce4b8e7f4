"""Fixtures for the browser tests: Debian's Chromium driven by playwright, failing on console errors."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.support import AXE_CACHE, AXE_JS, Axe

REPO_DIR = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """The real stack (gunicorn + one huey_consumer, from the Procfile) on a temp DATA_DIR."""
    from tests.support.stack import Stack

    # Retries wait up to an hour (full jitter): a job waiting for its retry stays visible for the tests.
    s = Stack(tmp_path_factory.mktemp("browser-stack") / "data", env={"RETRY_BASE_SECONDS": "3600"})
    s.start(workers=1)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Where screenshots go (gitignored)."""
    path = REPO_DIR / "test-output" / "browser"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def axe_source() -> Path:
    """axe-core's axe.min.js, installed by `make test` (scripts/install-axe.sh) or here when missing."""
    if not AXE_JS.exists():
        subprocess.run(["bash", str(REPO_DIR / "scripts" / "install-axe.sh"), str(AXE_CACHE)], check=False)
    if not AXE_JS.exists():
        pytest.fail(f"axe-core is missing at {AXE_JS}: run `make test-deps` (scripts/install-axe.sh needs npm)")
    return AXE_JS


@pytest.fixture
def axe(axe_source, output_dir) -> Axe:
    """axe.check(page, "state name") fails the test on any axe-core violation."""
    return Axe(axe_source, output_dir)


class ConsoleWatch:
    """Console errors and uncaught exceptions of one page."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[re.Pattern] = []

    def allow(self, pattern: str) -> None:
        """Accept console errors matching `pattern` (the browser logs every failed request a test causes)."""
        self.allowed.append(re.compile(pattern))

    def on_console(self, message) -> None:
        if message.type == "error" and not any(p.search(message.text) for p in self.allowed):
            self.errors.append(f"console.error: {message.text} ({message.location})")

    def on_page_error(self, error) -> None:
        self.errors.append(f"uncaught: {error}")


@pytest.fixture
def console():
    return ConsoleWatch()


def log_in_through_the_page(page, stack) -> None:
    """Open the Job Center logged out, get sent to /login, type the password, land back on the Job Center."""
    page.goto(f"{stack.base_url}/")
    page.wait_for_url(f"{stack.base_url}/login?next=%2F")
    page.get_by_test_id("login-password").fill(stack.password)
    page.get_by_test_id("login-submit").click()  # waits until login.js enables it
    try:
        page.wait_for_url(f"{stack.base_url}/")
    except PlaywrightTimeout:
        said = page.get_by_test_id("login-error").all_text_contents() if "/login" in page.url else []
        pytest.fail(f"login did not reach the Job Center: still at {page.url}, the page said {said}")
    page.get_by_test_id("session-bar").get_by_test_id("logout").wait_for()
    page.goto("about:blank")  # each test then opens the Job Center afresh (a hash-only change would not reload)


@pytest.fixture
def page(browser, console, stack):
    """A fresh page (own storage) at desktop size, logged in; the test fails if the page logs an error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC")
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    log_in_through_the_page(page, stack)
    try:
        yield page
    finally:
        context.close()
    assert not console.errors, "the page logged errors:\n" + "\n".join(console.errors)


@pytest.fixture
def make_page(browser, console, stack):
    """make_page(color_scheme="dark", viewport=...): another logged-in page with its own context, watched like `page`."""
    contexts = []

    def make(**options):
        options = {"viewport": {"width": 1280, "height": 900}, "locale": "en-US", "timezone_id": "UTC", **options}
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.on("console", console.on_console)
        page.on("pageerror", console.on_page_error)
        log_in_through_the_page(page, stack)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not console.errors, "the page logged errors:\n" + "\n".join(console.errors)
