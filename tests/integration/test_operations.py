"""Operations on the real stack: metrics across web workers, worker liveness, log lines, the CLI, notifications."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.stack import FAST_RECOVERY, Stack, free_port, wait_until

pytestmark = pytest.mark.integration

SECRET = "hunter2-ops-secret"
BIN = Path(sys.executable).parent


def failing_budget(stack: Stack, name: str = "Broken bank") -> str:
    """A demo budget whose sync fails for good (test-only fault injection)."""
    r = stack.api("POST", "/api/budgets", {"name": name})
    assert r.status_code == 201, r.text
    budget_id = r.json()["budget"]["id"]
    stack.inject_faults(budget_id, fail_on={"pull_latest": "Bank feed unavailable"})
    return budget_id


def scrape(stack: Stack) -> dict:
    """One scrape on a new connection (any gunicorn worker may answer), parsed by prometheus_client."""
    r = requests.get(f"{stack.base_url}/metrics", headers=dict(stack.http.headers), cookies=stack.http.cookies,
                     timeout=10)  # the stack's credentials (a password is set), on a new connection
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain"), r.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def test_metrics_from_several_web_workers_agree_after_real_jobs(stack_factory):
    stack = stack_factory({"WEB_CONCURRENCY": "3"})
    broken = failing_budget(stack)
    for job in [stack.post_job("sync-and-suggest"), stack.post_job("budget-sync", broken)]:
        stack.wait_job(job["id"])
    scrapes = [scrape(stack) for _ in range(6)]
    counters = {k: v for k, v in scrapes[0].items() if not k[0].startswith(("budget_assist_oldest", "budget_assist_worker"))}
    for other in scrapes[1:]:
        assert {k: other[k] for k in counters} == counters
    finished = scrapes[0]
    assert finished[("budget_assist_jobs_finished_total", (("status", "succeeded"), ("type", "sync_and_suggest")))] == 1
    assert finished[("budget_assist_jobs_finished_total", (("status", "failed"), ("type", "budget_sync")))] == 1
    assert finished[("budget_assist_job_duration_seconds_count", (("type", "sync_and_suggest"),))] == 1
    assert finished[("budget_assist_jobs", (("status", "queued"), ("type", "budget_sync")))] == 0
    assert finished[("budget_assist_workers_alive", ())] == 1
    assert ("budget_assist_last_successful_sync_timestamp_seconds", (("budget", "demo"),)) in finished
    assert any(name == "budget_assist_suggestions" for name, _ in finished)


def test_health_says_degraded_while_jobs_wait_without_a_worker_and_recovers(stack_factory):
    stack = stack_factory(FAST_RECOVERY)
    assert stack.api("GET", "/api/health").json() == {"status": "ok", "workers": 1, "queuedJobs": 0}
    stack.stop_worker(stack.workers[0], signal.SIGKILL)  # no goodbye: its row goes stale
    job = stack.post_job("budget-sync")
    health = wait_until(lambda: (h := stack.api("GET", "/api/health").json())["status"] == "degraded" and h,
                        15, 0.1, "health to turn degraded")
    assert health["workers"] == 0 and health["queuedJobs"] == 1 and "No worker is running" in health["message"]
    assert stack.api("GET", "/api/workers").json()["workers"][0]["alive"] is False
    stack.start_worker()
    assert stack.wait_job(job["id"])["job"]["status"] == "succeeded"
    assert stack.api("GET", "/api/health").json()["status"] == "ok"


def enqueue_leaking_task(stack: Stack) -> None:
    """Put a task on the real queue whose name holds the secret: huey's own logger reports it as unknown."""
    from core.queue import make_huey

    env = stack.env
    huey = make_huey(env.get("QUEUE_URL") or f"sqlite:///{stack.data_dir / 'queue.db'}",
                     env.get("QUEUE_NAME") or "budget-assist")
    huey.task(name=f"leak-{SECRET}")(lambda: None)()


def leak_through_gunicorn(stack: Stack) -> None:
    """A malformed request line holding the secret: gunicorn logs it as an invalid request."""
    with socket.create_connection(("127.0.0.1", stack.port), timeout=5) as conn:
        conn.sendall(f"GET /x {SECRET} extra\r\n\r\n".encode())
        conn.recv(1024)


def log_lines(stack: Stack) -> dict[str, list[str]]:
    return {p.name: p.read_text().splitlines() for p in sorted(stack.data_dir.glob("*.log"))}


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_every_line_is_rendered_once_with_secrets_masked_by_every_handler(stack_factory, fmt):
    stack = stack_factory({"LOG_FORMAT": fmt, "ACTUAL_PASSWORD": SECRET})
    job = stack.post_job("sync-and-suggest")
    stack.wait_job(job["id"])
    assert stack.api("GET", f"/api/jobs/{SECRET}%0d%0aforged").status_code == 404  # ours: the access line
    leak_through_gunicorn(stack)
    enqueue_leaking_task(stack)
    wait_until(lambda: "not found in TaskRegistry" in stack.logs(), 20, 0.1, "huey to report the unknown task")
    stack.stop()
    logs = log_lines(stack)
    text = "\n".join(line for lines in logs.values() for line in lines)
    assert SECRET not in text
    worker = [line for name, lines in logs.items() if name.startswith("worker") for line in lines]
    web = [line for name, lines in logs.items() if name.startswith("web") for line in lines]
    if fmt == "json":
        records = [json.loads(line) for line in worker + web]  # every line is one JSON object
        by_logger = {}
        for r in records:
            by_logger.setdefault(r["logger"].split(".")[0], []).append(r)
        assert any("***" in r["message"] for r in by_logger["gunicorn"])
        assert any("***" in r.get("exception", "") for r in by_logger["huey"])
        access = [r for r in by_logger["api"] if r.get("status") == 404]
        assert access and "***" in access[0]["path"] and access[0]["method"] == "GET"
        job_lines = [r for r in records if r.get("job_id") == job["id"]]
        assert any(r["logger"] == "jobs.orchestrator" for r in job_lines)
        started = [r for r in records if r["message"].startswith("Huey consumer started")]
    else:
        stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ ")
        heads = [line for line in worker + web if stamp.match(line)]
        assert not [line for line in worker + web if line.startswith("[")], "huey's own format is gone"
        assert any("gunicorn.error" in line and "***" in line for line in heads)
        huey_error = [i for i, line in enumerate(worker) if " ERROR huey.consumer" in line and "Error reading" in line]
        assert huey_error and "not found in TaskRegistry" in "\n".join(worker[huey_error[0]:huey_error[0] + 30])
        # the decoded CR LF of the path is escaped: the forged text stays on the access line
        # request text is escaped where the access line is written (core.logsafe: \\x0d\\x0a), so it stays one line
        assert any(" INFO api.request GET /api/jobs/***\\x0d\\x0aforged 404 " in line for line in heads)
        started = [line for line in heads if "Huey consumer started" in line]
        ready = [line for line in heads if "worker ready" in line]
        assert len(ready) == 1
    assert len(started) == 1  # huey's line printed once, not once per handler


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in stack.env.items() if k not in ("PORT",)}
    return subprocess.run([str(BIN / "budget-assist"), *args], env=env, capture_output=True, text=True, timeout=60,
                          cwd="/")


def test_every_cli_command_works_with_the_web_down(stack_factory):
    stack = stack_factory()
    done = stack.post_job("budget-sync")
    stack.wait_job(done["id"])
    os.killpg(stack.web.pid, signal.SIGTERM)
    stack.web.wait(30)
    assert cli(stack, "migrate").returncode == 0
    doctor = cli(stack, "doctor")
    assert doctor.returncode == 0 and "ok   worker: 1 alive" in doctor.stdout, doctor.stdout + doctor.stderr
    listed = json.loads(cli(stack, "--json", "jobs", "list").stdout)
    assert [j["id"] for j in listed["jobs"]] == [done["id"]]
    assert "succeeded" in cli(stack, "jobs", "list", "--status", "succeeded").stdout
    shown = json.loads(cli(stack, "--json", "jobs", "show", done["id"]).stdout)
    assert shown["job"]["status"] == "succeeded" and shown["events"]
    started = json.loads(cli(stack, "--json", "jobs", "start", "sync-and-suggest", "--budget", "demo").stdout)
    again = json.loads(cli(stack, "--json", "jobs", "retry", done["id"]).stdout)
    for job_id in (started["job"]["id"], again["job"]["id"]):
        wait_until(lambda: json.loads(cli(stack, "--json", "jobs", "show", job_id).stdout)["job"]["status"]
                   == "succeeded", 60, 0.2, f"job {job_id} to succeed through the CLI")
    budgets = json.loads(cli(stack, "--json", "budgets").stdout)["budgets"]
    assert budgets[0]["id"] == "demo" and budgets[0]["lastSyncAt"]
    assert "demo" in cli(stack, "budgets").stdout
    workers = json.loads(cli(stack, "--json", "workers").stdout)["workers"]
    assert len(workers) == 1 and workers[0]["alive"] is True
    assert "deleted 0 finished jobs" in cli(stack, "purge", "--older-than", "30").stdout
    stack.stop_worker(stack.workers[0])
    waiting = json.loads(cli(stack, "--json", "jobs", "start", "budget-sync", "--budget", "demo").stdout)
    canceled = json.loads(cli(stack, "--json", "jobs", "cancel", waiting["job"]["id"]).stdout)
    assert canceled["job"]["status"] == "canceled"
    sick = cli(stack, "doctor")
    assert sick.returncode == 1
    assert [line for line in sick.stdout.splitlines() if line.startswith("FAIL")] == [
        "FAIL worker: no worker seen in the last 30 s -> start one: `make run`, or "
        "`huey_consumer tasks.huey` as in the Procfile"]
    assert cli(stack, "jobs", "show", "no-such-job").returncode == 1


class Receiver:
    """An HTTP server on loopback that records the JSON bodies POSTed to it (Apprise's json:// target)."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture()
def black_hole():
    """A loopback port that accepts connections and never answers (a hung receiver)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


def test_notifications_reach_a_receiver_and_a_hung_one_changes_nothing(stack_factory, receiver, black_hole):
    urls = f"json://127.0.0.1:{receiver.port}/hook, json://127.0.0.1:{black_hole}/?rto=20, " \
           f"json://127.0.0.1:{free_port()}/"
    stack = stack_factory({"NOTIFY_URLS": urls, "NOTIFY_ON": "failure,success",
                           "PUBLIC_URL": "https://budget.example"})
    broken = failing_budget(stack)
    failed = stack.wait_job(stack.post_job("budget-sync", broken)["id"])
    assert failed["job"]["status"] == "failed"
    fine = stack.wait_job(stack.post_job("budget-sync")["id"], timeout=15)  # not held up by the hung receiver
    assert fine["job"]["status"] == "succeeded"
    wait_until(lambda: len(receiver.bodies) >= 1, 30, 0.1, "the failure notification")
    first = receiver.bodies[0]
    assert first["type"] == "failure" and first["title"] == "budget-assist: Sync Budget failed"
    assert "Bank feed unavailable" in first["message"]
    assert f"https://budget.example/#budget={broken}&job={failed['job']['id']}" in first["message"]
    wait_until(lambda: len(receiver.bodies) >= 2, 60, 0.2, "the success notification after the hung delivery")
    assert receiver.bodies[1]["type"] == "success"
    assert "could not be delivered" in stack.logs()
    assert [stack.api("GET", f"/api/jobs/{j['job']['id']}").json()["job"]["status"] for j in (failed, fine)] == \
        ["failed", "succeeded"]
