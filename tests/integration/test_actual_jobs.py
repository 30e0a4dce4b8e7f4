"""Every job type against a real Actual sync server, through the HTTP API of real gunicorn + huey_consumer.

The tests of this module build on each other in file order (one seeded budget, one main stack); the
last test greps every API answer, database and log of every stack started here for the passwords.
"""
from __future__ import annotations

import datetime as dt
import decimal
import http.server
import json
import sqlite3
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.actual_server import free_port, start_actual_server
from tests.support.actual_fixtures import OtherClient, server_logins, server_state
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.actual]

JOB_TIMEOUT = 120
WRONG_PASSWORD = "wrong-pw-" + uuid.uuid4().hex[:10]
OWN_PASSWORD = "own-pw-" + uuid.uuid4().hex[:10]
ENCRYPTION_PASSWORD = "enc-pw-" + uuid.uuid4().hex[:10]
WRONG_ENCRYPTION_PASSWORD = ENCRYPTION_PASSWORD + "-typo"


# -- helpers ----------------------------------------------------------------------------------
class Fleet:
    """Every stack this module starts, and every API answer it saw (for the secret grep at the end)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stacks: list[Stack] = []
        self.data_dirs: list[Path] = []
        self.seen: list[str] = []  # API answers (text)

    def start(self, env: dict[str, str], data_dir: Path | None = None, backend=None) -> Stack:
        data_dir = data_dir or self.root / f"data{len(self.data_dirs)}"
        s = Stack(data_dir, {"RETRY_BASE_SECONDS": "0.05", **env}, backend=backend)
        self.stacks.append(s)
        if data_dir not in self.data_dirs:
            self.data_dirs.append(data_dir)
        return s.start(workers=1)

    def restart(self, old: Stack, env: dict[str, str]) -> Stack:
        """Stop `old` and start a stack with `env` on the same DATA_DIR (its logs are kept aside)."""
        old.stop(keep_backend=True)
        for log in old._logs:
            if log.exists():
                log.rename(log.with_name(f"before-{uuid.uuid4().hex[:6]}-{log.name}"))
        return self.start(env, old.data_dir, backend=old.backend)

    def api(self, stack: Stack, method: str, path: str, json_body=None):
        r = stack.api(method, path, json_body)
        self.seen.append(r.text)
        return r

    def run(self, stack: Stack, kind: str, budget_id: str, **body) -> dict:
        """POST a job, wait until it is finished, return its detail."""
        r = self.api(stack, "POST", f"/api/jobs/{kind}", {"budgetId": budget_id, **body})
        assert r.status_code == 201, r.text  # nothing active for this budget+kind: a new job
        detail = stack.wait_job(r.json()["job"]["id"], timeout=JOB_TIMEOUT)
        self.seen.append(json.dumps(detail))
        return detail

    def stop_all(self) -> None:
        """Stop every stack at once; each waits for its own processes."""
        with ThreadPoolExecutor(max(1, len(self.stacks))) as pool:
            list(pool.map(lambda stack: stack.stop(), self.stacks))


def steps_of(detail: dict) -> list[tuple[str, str]]:
    return [(s["stepType"], s["status"]) for s in detail["steps"]]


def suggestions(fleet: Fleet, stack: Stack, budget_id: str, status: str) -> list[dict]:
    return fleet.api(stack, "GET", f"/api/suggestions?budgetId={budget_id}&status={status}").json()["suggestions"]


def actual_env(server, password: str | None = None) -> dict[str, str]:
    return {"ACTUAL_SERVER_URL": server.url, "ACTUAL_PASSWORD": password or server.password}


def assert_readable_failure(detail: dict, *needles: str) -> str:
    job = detail["job"]
    assert job["status"] == "failed", detail
    reason = job["failureReason"]
    assert reason and len(reason) > 30 and "Traceback" not in json.dumps(detail), reason
    for needle in needles:
        assert needle in reason, reason
    return reason


class _Answer500(http.server.BaseHTTPRequestHandler):
    def _fail(self):
        body = b"internal-error"
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _fail

    def log_message(self, *args):
        pass


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    f = Fleet(tmp_path_factory.mktemp("actual-jobs"))
    yield f
    f.stop_all()


@pytest.fixture(scope="module")
def household(seed_budget):
    return seed_budget("Household Jobs", n_transactions=300)


@pytest.fixture(scope="module")
def main(fleet, actual_server):
    return fleet.start(actual_env(actual_server))


@pytest.fixture(scope="module")
def shared(actual_server):
    """State handed from one test to the next (the tests run in file order)."""
    return {}


# -- the happy path ---------------------------------------------------------------------------
def test_budgets_list_the_server_file_next_to_the_demo(fleet, main, household):
    r = fleet.api(main, "GET", "/api/budgets")
    assert r.status_code == 200, r.text
    budgets = {b["id"]: b for b in r.json()["budgets"]}
    assert budgets["demo"]["connector"] == "demo"
    assert budgets[household.file_id]["name"] == "Household Jobs"
    assert budgets[household.file_id]["connector"] == "actual"


def test_sync_suggest_approve_apply_reaches_the_server(fleet, main, household, actual_server, tmp_path, shared):
    fid = household.file_id
    detail = fleet.run(main, "sync-and-suggest", fid)
    assert detail["job"]["status"] == "succeeded", detail
    assert steps_of(detail) == [("sync", "succeeded"), ("suggestions", "succeeded")]
    synced, suggested = detail["steps"][0]["result"], detail["steps"][1]["result"]
    eligible = len(household.eligible)
    assert (synced["new"], synced["changed"], synced["total"]) == (eligible, 0, eligible)
    assert suggested["suggested"] > 0
    copy = main.data_dir / "budgets" / fid
    assert (copy / "db.sqlite").is_file() and (copy / "metadata.json").is_file()

    pending = suggestions(fleet, main, fid, "pending")
    assert len(pending) == suggested["suggested"]
    assert {s["transactionId"] for s in pending} <= set(household.uncategorized) | set(household.split_children)
    chosen = pending[:12]
    ids = [s["id"] for s in chosen]
    r = fleet.api(main, "POST", "/api/suggestions/approve", {"suggestionIds": ids})
    assert r.status_code == 200, r.text
    applied = fleet.run(main, "suggestions-apply", fid, suggestionIds=ids)
    assert applied["job"]["status"] == "succeeded", applied
    assert steps_of(applied) == [("apply", "succeeded"), ("sync", "succeeded")]
    assert applied["steps"][0]["result"]["applied"] == len(ids)
    assert applied["steps"][0]["result"]["skipped"] == 0
    assert applied["steps"][1]["result"]["new"] == 0
    assert set(ids) <= {s["id"] for s in suggestions(fleet, main, fid, "applied")}

    before = {tx: None for tx in household.uncategorized + household.split_children}
    state = server_state(actual_server, fid, tmp_path)  # a fresh client with an empty data dir
    for s in chosen:
        assert before[s["transactionId"]] is None
        assert state[s["transactionId"]][0] == s["proposedCategoryId"]
    untouched = [tx for tx in household.uncategorized if tx not in {s["transactionId"] for s in chosen}]
    assert all(state[tx][0] is None for tx in untouched)
    shared["pending"] = [s for s in pending if s["id"] not in ids]


def test_the_backtest_job_reports_accuracy_on_the_server_budget(fleet, main, household):
    detail = fleet.run(main, "suggestions-backtest", household.file_id)
    assert detail["job"]["status"] == "succeeded", detail
    assert detail["job"]["label"] == "Check Suggestion Accuracy"
    assert steps_of(detail) == [("backtest", "succeeded")]
    (step,) = detail["steps"]
    result = step["result"]
    assert result["history"] > 0 and result["predicted"] > 0
    engines = result["engines"]
    assert set(engines) == {"engine", "engine_all", "last_category"}
    for figures in engines.values():
        assert figures["predicted"] == result["predicted"] and 0 <= figures["accuracy"] <= 1
    assert sum(b["suggested"] for b in engines["engine_all"]["reliability"]) == engines["engine_all"]["suggested"]
    assert [len(t["rows"]) > 0 for t in result["tables"]] == [True, True]
    assert step["summary"].startswith("budget-assist ") and "last category" in step["summary"]


def test_another_clients_change_after_an_apply_shows_up_on_the_next_sync(
        fleet, main, household, actual_server, tmp_path, shared):
    from actual.queries import create_transaction_from_ids

    fid = household.file_id
    raced = shared["pending"][0]  # still pending here; the other client categorizes it meanwhile
    travel = household.categories["Travel"]
    other = OtherClient(actual_server, fid, tmp_path)
    try:
        other.tx(raced["transactionId"]).category_id = travel
        other.tx(household.categorized[5]).notes = "edited elsewhere"
        new_tx = create_transaction_from_ids(other.s, dt.date(2024, 12, 30), household.accounts["Checking"],
                                             household.payees["SuperMart"], "new elsewhere", None,
                                             decimal.Decimal("-23.45"))
        new_id = new_tx.id
        other.actual.commit()
    finally:
        other.close()

    detail = fleet.run(main, "budget-sync", fid)
    assert detail["job"]["status"] == "succeeded", detail
    result = detail["steps"][0]["result"]
    assert (result["new"], result["changed"]) == (1, 2), result
    assert result["total"] == len(household.eligible) + 1

    detail = fleet.run(main, "sync-and-suggest", fid)
    assert detail["job"]["status"] == "succeeded", detail
    assert (detail["steps"][0]["result"]["new"], detail["steps"][0]["result"]["changed"]) == (0, 0)
    assert detail["steps"][1]["result"]["suggested"] >= 1
    pending = {s["transactionId"]: s for s in suggestions(fleet, main, fid, "pending")}
    assert pending[new_id]["amount"] == -2345 and pending[new_id]["payeeName"] == "SuperMart"

    # the suggestion made before the other client categorized it is skipped, never overwritten
    assert fleet.api(main, "POST", "/api/suggestions/approve", {"suggestionIds": [raced["id"]]}).status_code == 200
    applied = fleet.run(main, "suggestions-apply", fid, suggestionIds=[raced["id"]])
    assert applied["job"]["status"] == "succeeded", applied
    apply_result = applied["steps"][0]["result"]
    assert (apply_result["applied"], apply_result["skipped"]) == (0, 1)
    assert apply_result["skippedTransactions"] == {raced["transactionId"]: "already categorized on the server"}
    state = server_state(actual_server, fid, tmp_path)
    assert state[raced["transactionId"]][0] == travel
    assert state[household.categorized[5]][2] == "edited elsewhere"


def test_a_reset_sync_id_needs_a_redownload(fleet, main, household, actual_server, tmp_path):
    fid = household.file_id
    copy = main.data_dir / "budgets" / fid
    old_group = json.loads((copy / "metadata.json").read_text())["groupId"]
    other = OtherClient(actual_server, fid, tmp_path)
    try:
        other.tx(household.categorized[7]).notes = "after reset"
        other.actual.commit()
        other.actual.reupload_budget()  # "Reset sync" in the web app: a new sync id
    finally:
        other.close()

    failed = fleet.run(main, "budget-sync", fid)
    assert_readable_failure(failed, "Download Budget Again")
    assert steps_of(failed) == [("sync", "failed")]
    assert json.loads((copy / "metadata.json").read_text())["groupId"] == old_group  # left alone

    redo = fleet.run(main, "snapshot-redownload", fid)
    assert redo["job"]["status"] == "succeeded", redo
    assert steps_of(redo) == [("redownload", "succeeded")]
    assert redo["steps"][0]["result"]["transactions"] == len(household.eligible) + 1
    assert json.loads((copy / "metadata.json").read_text())["groupId"] != old_group
    assert not [p for p in copy.parent.iterdir() if ".download-" in p.name or ".old-" in p.name]

    again = fleet.run(main, "budget-sync", fid)
    assert again["job"]["status"] == "succeeded", again
    assert (again["steps"][0]["result"]["new"], again["steps"][0]["result"]["changed"]) == (0, 0)
    snap = fleet.run(main, "snapshot-create", fid)
    assert snap["job"]["status"] == "succeeded", snap
    snap_file = main.data_dir / "snapshots" / fid / f"{snap['steps'][0]['result']['snapshotId']}.sqlite"
    with closing(sqlite3.connect(snap_file)) as conn:
        notes = conn.execute("SELECT notes FROM transactions WHERE id = ?", (household.categorized[7],)).fetchone()
    assert notes == ("after reset",)


# -- failures ---------------------------------------------------------------------------------
def test_unknown_file_id_is_a_404_at_post_time(fleet, main):
    missing = str(uuid.uuid4())
    r = fleet.api(main, "POST", "/api/jobs/budget-sync", {"budgetId": missing})
    assert r.status_code == 404, r.text
    error = r.json()["error"]
    assert error["code"] == "budget_not_found" and error["field"] == "budgetId"
    assert missing in error["message"]


def test_encrypted_file_without_the_encryption_password(fleet, main, actual_server, tmp_path):
    from tests.support.actual_fixtures import seed_actual_budget

    b = seed_actual_budget(actual_server.url, actual_server.token, tmp_path / "seed", "Encrypted Jobs",
                           n_transactions=40, encryption_password=ENCRYPTION_PASSWORD)
    failed = fleet.run(main, "budget-sync", b.file_id)
    assert_readable_failure(failed, "ACTUAL_ENCRYPTION_PASSWORD", "encrypted")
    assert not (main.data_dir / "budgets" / b.file_id / "db.sqlite").exists()

    # with the encryption password the same file works
    keyed = fleet.start({**actual_env(actual_server), "ACTUAL_ENCRYPTION_PASSWORD": ENCRYPTION_PASSWORD})
    detail = fleet.run(keyed, "sync-and-suggest", b.file_id)
    assert detail["job"]["status"] == "succeeded", detail
    assert detail["steps"][0]["result"]["total"] == len(b.eligible)
    assert detail["steps"][1]["result"]["suggested"] > 0


def test_a_worker_restarted_with_a_wrong_encryption_key_fails_at_once_and_sends_nothing(fleet, actual_server, tmp_path):
    from tests.support.actual_fixtures import seed_actual_budget

    b = seed_actual_budget(actual_server.url, actual_server.token, tmp_path / "seed", "Encrypted Restart",
                           n_transactions=60, encryption_password=ENCRYPTION_PASSWORD)
    fid = b.file_id
    keyed = fleet.start({**actual_env(actual_server), "ACTUAL_ENCRYPTION_PASSWORD": ENCRYPTION_PASSWORD})
    assert fleet.run(keyed, "sync-and-suggest", fid)["job"]["status"] == "succeeded"
    pending = suggestions(fleet, keyed, fid, "pending")
    first, second = [s["id"] for s in pending[:3]], [s["id"] for s in pending[3:6]]
    assert fleet.api(keyed, "POST", "/api/suggestions/approve", {"suggestionIds": first + second}).status_code == 200
    applied = fleet.run(keyed, "suggestions-apply", fid, suggestionIds=first)
    assert applied["job"]["status"] == "succeeded" and applied["steps"][0]["result"]["applied"] == 3, applied
    assert fleet.run(keyed, "budget-sync", fid)["job"]["status"] == "succeeded"  # the copy is up to date

    wrong = fleet.restart(keyed, {**actual_env(actual_server), "ACTUAL_ENCRYPTION_PASSWORD": WRONG_ENCRYPTION_PASSWORD})
    failed = fleet.run(wrong, "suggestions-apply", fid, suggestionIds=second)
    assert_readable_failure(failed, "ACTUAL_ENCRYPTION_PASSWORD is wrong", "Nothing was")
    assert failed["job"]["attempt"] == 1 < failed["job"]["maxAttempts"]  # not retried
    assert {s["id"] for s in suggestions(fleet, wrong, fid, "approved")} >= set(second)

    by_id = {s["id"]: s for s in pending}
    state = server_state(actual_server, fid, tmp_path, encryption_password=ENCRYPTION_PASSWORD)  # opens
    assert all(state[by_id[i]["transactionId"]][0] == by_id[i]["proposedCategoryId"] for i in first)
    assert all(state[by_id[i]["transactionId"]][0] is None for i in second)  # nothing reached the server


def _record_then_point_elsewhere(fleet: Fleet, server, file_id: str, env: dict[str, str]) -> Stack:
    """Record the budget through a working stack, then restart on the same DATA_DIR with `env`."""
    first = fleet.start(actual_env(server))
    ok = fleet.run(first, "budget-sync", file_id)
    assert ok["job"]["status"] == "succeeded", ok
    return fleet.restart(first, env)


def test_unreachable_server(fleet, actual_server, household):
    port = free_port()  # nothing listens there
    stack = _record_then_point_elsewhere(
        fleet, actual_server, household.file_id,
        {"ACTUAL_SERVER_URL": f"http://127.0.0.1:{port}", "ACTUAL_PASSWORD": actual_server.password})
    detail = fleet.run(stack, "budget-sync", household.file_id)
    assert_readable_failure(detail, "Cannot reach the Actual server", f"127.0.0.1:{port}", "ACTUAL_SERVER_URL")
    # a file id not recorded yet cannot be checked: a readable error at POST time, not a 500
    r = fleet.api(stack, "POST", "/api/jobs/budget-sync", {"budgetId": str(uuid.uuid4())})
    assert r.status_code == 503, r.text
    error = r.json()["error"]
    assert error["code"] == "actual_unreachable" and error["field"] == "budgetId"
    assert "Cannot reach the Actual server" in error["message"]


def test_server_answering_5xx(fleet, actual_server, household):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer500)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        stack = _record_then_point_elsewhere(
            fleet, actual_server, household.file_id,
            {"ACTUAL_SERVER_URL": f"http://127.0.0.1:{httpd.server_address[1]}",
             "ACTUAL_PASSWORD": actual_server.password})
        detail = fleet.run(stack, "sync-and-suggest", household.file_id)
        assert_readable_failure(detail, "HTTP 500")
        assert steps_of(detail) == [("sync", "failed"), ("suggestions", "canceled")]
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_wrong_password_fails_and_is_never_retried(fleet, tmp_path):
    from tests.support.actual_fixtures import seed_actual_budget

    own = start_actual_server(tmp_path / "own", OWN_PASSWORD)
    try:
        b = seed_actual_budget(own.url, own.token, tmp_path / "seed", "Own server", n_transactions=20)
        recorded = fleet.start(actual_env(own))
        assert fleet.run(recorded, "budget-sync", b.file_id)["job"]["status"] == "succeeded"
        before = server_logins(own)
        stack = fleet.restart(recorded, actual_env(own, WRONG_PASSWORD))
        first = fleet.run(stack, "budget-sync", b.file_id)
        assert_readable_failure(first, "rejected the password", "ACTUAL_PASSWORD")
        after_first = server_logins(own)
        second = fleet.run(stack, "sync-and-suggest", b.file_id)
        assert_readable_failure(second, "ACTUAL_PASSWORD")
        assert fleet.api(stack, "GET", "/api/budgets").status_code == 200
        # one failed login per process, at its start (the web's in gunicorn's master, before it forks its
        # workers; the worker's in its startup hook), remembered: no job or request tries again
        assert after_first == before + 2
        assert server_logins(own) == after_first
    finally:
        own.stop()


# -- secrets ----------------------------------------------------------------------------------
def test_no_password_in_api_answers_tables_or_logs(fleet, actual_server):
    secrets = [actual_server.password, WRONG_PASSWORD, OWN_PASSWORD, ENCRYPTION_PASSWORD, WRONG_ENCRYPTION_PASSWORD]
    assert len(fleet.stacks) >= 6 and fleet.seen

    texts: dict[str, str] = {"api answers seen by the tests": "\n".join(fleet.seen)}
    failures = 0
    for i, stack in enumerate(fleet.stacks):
        if stack.web is None or stack.web.poll() is not None:
            continue  # stopped; its rows are in the database of the stack that replaced it
        cursor, pages = None, []
        while True:
            r = stack.api("GET", "/api/jobs?limit=100" + (f"&cursor={cursor}" if cursor else ""))
            pages.append(r.text)
            body = r.json()
            for job in body["jobs"]:
                pages.append(stack.api("GET", f"/api/jobs/{job['id']}").text)
                failures += job["status"] == "failed"
            cursor = body.get("nextCursor")
            if not cursor:
                break
        pages.append(stack.api("GET", "/api/suggestions").text)
        texts[f"api of stack {i}"] = "\n".join(pages)
    assert failures >= 6  # reset, encrypted, unreachable, 5xx, 2x wrong password

    for stack in fleet.stacks:
        if stack.web is not None and stack.web.poll() is None:  # a stopped stack's rows live on in its successor
            texts[f"{stack.data_dir}/app.db"] = stack.dump_tables()
    for data_dir in fleet.data_dirs:
        logs = sorted(data_dir.glob("*.log"))
        assert any(p.name.startswith(("worker", "before")) for p in logs)
        for log in logs:
            texts[str(log)] = log.read_text(errors="replace")
    for stack in fleet.stacks:
        texts[f"logs of {stack.data_dir}"] = stack.logs()

    assert "job " in "".join(t for k, t in texts.items() if k.endswith(".log"))  # the logs are not empty
    tables = "".join(t for k, t in texts.items() if k.endswith("app.db"))
    for reason in ("Cannot reach the Actual server", "rejected the password", "HTTP 500", "ACTUAL_ENCRYPTION_PASSWORD"):
        assert reason in tables  # the failure reasons were stored, and are part of what is searched
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a password appears in {where}"
