"""Helpers shared by the browser tests: budgets and jobs through the API, the page opened on a budget,
the worker or the web process stopped for a while, the tab hidden (polling pauses), axe-core."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.stack import wait_until

JOB_TIMEOUT_MS = 60_000  # a demo sync & generate takes about a second; leave room for a loaded machine
UI_TIMEOUT_MS = 5_000
OFFLINE_TIMEOUT_MS = 15_000  # the page notices a stopped server at its next poll (at most 10 s when idle)


def api(stack, method: str, path: str, body: dict | None = None) -> dict:
    resp = stack.api(method, path, body)
    assert resp.status_code < 400, f"{method} {path} -> {resp.status_code}: {resp.text}"
    return resp.json()


def new_budget(stack, fail_on: dict | None = None, delay_on: dict | None = None, name: str | None = None) -> str:
    """A fresh demo budget (optionally failing in, or slowed down in, one connector method); returns its id."""
    body = {"name": name or f"Browser test {uuid.uuid4().hex[:8]}", "connector": "demo"}
    budget_id = api(stack, "POST", "/api/budgets", body)["budget"]["id"]
    if fail_on or delay_on:
        stack.inject_faults(budget_id, fail_on=fail_on, delay_on=delay_on)
    return budget_id


def open_job_center(page: Page, stack, budget_id: str) -> None:
    page.goto(f"{stack.base_url}/#budget={budget_id}")
    expect(page.get_by_test_id("budget-picker")).to_have_value(budget_id, timeout=UI_TIMEOUT_MS)
    expect(page.get_by_test_id("start-sync-and-suggest")).to_be_visible(timeout=UI_TIMEOUT_MS)
    # A marker that a reload would wipe out: the tests check the page never reloads.
    page.evaluate("window.__noReload = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__noReload === true"), "the page reloaded"


def run_sync_and_generate(page: Page) -> None:
    """Start sync & generate from the page and wait until its detail shows it succeeded."""
    page.get_by_test_id("start-sync-and-suggest").click()
    detail = page.get_by_test_id("job-detail")
    expect(detail.get_by_test_id("job-detail-label")).to_have_text("Sync & Generate Suggestions", timeout=UI_TIMEOUT_MS)
    expect(detail.get_by_test_id("job-detail-status")).to_have_text("Succeeded", timeout=JOB_TIMEOUT_MS)


@contextlib.contextmanager
def worker_held(stack):
    """No worker runs while inside, so a new job stays queued; a fresh worker starts afterwards."""
    for proc in list(stack.workers):
        stack.stop_worker(proc)
    try:
        yield
    finally:
        stack.start_worker()


def stop_web(stack) -> None:
    """Stop the web process (gunicorn) and wait until it is gone: the page's requests now fail."""
    os.killpg(stack.web.pid, signal.SIGTERM)
    stack.web.wait(30)


def start_web(stack) -> None:
    """Start the web process again on the same port and wait until it answers."""
    stack.web = stack._spawn("web")
    wait_until(stack._healthy, 30, 0.1, "the restarted web process to answer /api/health")


def set_hidden(page: Page, hidden: bool) -> None:
    """Make the page think its tab is hidden (its polling pauses) or visible again (it polls at once)."""
    page.evaluate("""(hidden) => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
        Object.defineProperty(document, "visibilityState", {configurable: true, get: () => hidden ? "hidden" : "visible"});
        document.dispatchEvent(new Event("visibilitychange"));
    }""", hidden)


AXE_CACHE = Path(os.environ.get("AXE_CACHE") or Path.home() / ".cache" / "budget-assist" / "axe")
AXE_JS = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"

AXE_RUN = """async () => {
    const result = await axe.run(document, {resultTypes: ["violations"]});
    return result.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " :: " + (n.failureSummary || "").replace(/\\s+/g, " ")),
        count: v.nodes.length,
    }));
}"""


class Axe:
    """Runs axe-core (every rule of its default set) on a page and fails on any violation."""

    def __init__(self, source: Path, output_dir: Path) -> None:
        self.source = source.read_text()
        self.output_dir = output_dir
        self.states: list[str] = []

    def check(self, page: Page, state: str) -> None:
        """Axe in `state`; its findings are written to test-output/browser/axe-<state>.json."""
        if not page.evaluate("typeof window.axe === 'object'"):
            # Evaluated through the DevTools protocol, not as a <script>: the page's CSP cannot block it.
            page.evaluate(self.source + "\n;undefined")
        violations = page.evaluate(AXE_RUN)
        (self.output_dir / f"axe-{state}.json").write_text(json.dumps(violations, indent=1))
        self.states.append(state)
        assert not violations, f"axe-core found violations in the state '{state}':\n" + "\n".join(
            f"- {v['id']} ({v['impact']}, {v['count']} nodes): {v['help']}\n    " + "\n    ".join(v["nodes"])
            for v in violations)
