"""Starts the real processes from the Procfile (gunicorn + huey_consumer) on a temp DATA_DIR and a free port."""
from __future__ import annotations

import datetime
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import requests

from budget.faults import write_faults
from testkit.procs import ROOT, free_port, spawn, stop, signal_group, wait_or_kill, wait_until
from testkit.procs import procfile as procfile_commands

__all__ = ["FAST_RECOVERY", "INTERRUPTED", "ROOT", "TERMINAL", "Stack", "free_port", "iso", "procfile_commands",
           "wait_until"]

TERMINAL = {"succeeded", "failed", "canceled"}
INTERRUPTED = "Interrupted: the worker stopped while this job was running"
FAST_RECOVERY = {  # fault tests: a lost worker is noticed in seconds, retries come quickly
    "HEARTBEAT_INTERVAL_SECONDS": "0.5",
    "HEARTBEAT_TIMEOUT_SECONDS": "3",
    "RECONCILE_INTERVAL_SECONDS": "1",
    "QUEUED_GRACE_SECONDS": "2",
    "RETRY_BASE_SECONDS": "0.5",
}


def iso(value: str) -> datetime.datetime:
    """An API timestamp ('…Z') as a naive UTC datetime."""
    return datetime.datetime.fromisoformat(value[:-1])


class Stack:
    """gunicorn and one or more huey_consumer processes sharing a DATA_DIR."""

    def __init__(self, data_dir: Path, env: Optional[dict[str, str]] = None, backend: Any = None) -> None:
        """A stack on `data_dir`; in the scale-out run on a fresh backend, or on `backend` taken over."""
        from tests.support.backends import ScaleoutBackend, scaleout_requested

        self.data_dir = data_dir
        self.backend = backend or (ScaleoutBackend.create() if scaleout_requested() else None)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.faults_dir = data_dir / "faults"
        self.env = {**os.environ, "DATA_DIR": str(data_dir), "PORT": str(self.port), "HOST": "127.0.0.1",
                    "AUTH_PASSWORD": f"stack-{secrets.token_urlsafe(12)}",  # the suites run with a password set
                    "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
                    "SYNC_INTERVAL_MINUTES": "0", "PYTHONUNBUFFERED": "1", "BA_FAULTS_DIR": str(self.faults_dir),
                    **(self.backend.env() if self.backend else {}), **(env or {})}
        self.commands = procfile_commands()
        self.web: Optional[subprocess.Popen] = None
        self.workers: list[subprocess.Popen] = []
        self.password = self.env.get("AUTH_PASSWORD") or None
        self.http = requests.Session()
        self.http.headers["Origin"] = self.base_url  # a state-changing request with the cookie names its origin
        self._logs: list[Path] = []

    def _spawn(self, name: str, extra_env: Optional[dict[str, str]] = None) -> subprocess.Popen:
        log = self.data_dir / f"{name}-{len(self._logs)}.log"
        self._logs.append(log)
        return spawn(self.commands[name], {**self.env, **(extra_env or {})}, log)

    def start(self, workers: int = 1) -> "Stack":
        """Start web and `workers` consumer processes; wait until the API answers."""
        self.web = self._spawn("web")
        for _ in range(workers):
            self.start_worker()
        wait_until(self._healthy, 30, 0.1, "the web process to answer /api/health")
        self.log_in(self.http)
        return self

    def log_in(self, session: requests.Session) -> requests.Session:
        """Log `session` in with the stack's password (as the login page does); a no-op when none is set."""
        session.headers["Origin"] = self.base_url
        if self.password:
            r = session.post(f"{self.base_url}/api/session", json={"password": self.password}, timeout=30)
            assert r.status_code == 204, r.text
        return session

    def new_session(self) -> requests.Session:
        """Another logged-in HTTP client (its own connection pool and cookie)."""
        return self.log_in(requests.Session())

    def start_worker(self, extra_env: Optional[dict[str, str]] = None) -> subprocess.Popen:
        """Start one more huey_consumer."""
        proc = self._spawn("worker", extra_env)
        self.workers.append(proc)
        return proc

    def _healthy(self) -> bool:
        if self.web and self.web.poll() is not None:
            raise AssertionError(f"web exited with {self.web.returncode}:\n{self.logs()}")
        try:
            return self.http.get(f"{self.base_url}/api/health", timeout=1).status_code == 200
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still booting under load
            return False

    def api(self, method: str, path: str, json: Any = None, headers: Optional[dict] = None) -> requests.Response:
        """One HTTP request to the running web process."""
        return self.http.request(method, f"{self.base_url}{path}", json=json, headers=headers, timeout=30)

    def inject_faults(self, budget_id: str, *, fail_on: Optional[dict[str, str]] = None,
                      delay_on: Optional[dict[str, float]] = None) -> None:
        """Make a budget's connector fail or slow down from its next step on (budget/faults.py)."""
        write_faults(self.faults_dir, budget_id, fail_on=fail_on, delay_on=delay_on)

    def post_job(self, kind: str, budget_id: str = "demo", **body: Any) -> dict:
        """POST /api/jobs/{kind} and return the job."""
        r = self.api("POST", f"/api/jobs/{kind}", {"budgetId": budget_id, **body})
        assert r.status_code in (200, 201), r.text
        return r.json()["job"]

    def wait_job(self, job_id: str, timeout: float = 60, statuses: set[str] = TERMINAL) -> dict:
        """Poll GET /api/jobs/{id} until the job reaches one of `statuses`; return the detail."""
        def done() -> Optional[dict]:
            detail = self.api("GET", f"/api/jobs/{job_id}").json()
            return detail if detail["job"]["status"] in statuses else None

        return wait_until(done, timeout, 0.05, f"job {job_id} to reach {statuses}")

    def restart_web(self) -> None:
        """Stop the web process (SIGTERM) and start a new one on the same port; wait until it answers."""
        if self.web is not None:
            stop(self.web, signal.SIGTERM, 30)
        self.web = self._spawn("web")
        wait_until(self._healthy, 30, 0.1, "the restarted web process to answer /api/health")

    def signal_worker(self, proc: subprocess.Popen, sig: int) -> None:
        """Send `sig` to a worker's process group."""
        signal_group(proc, sig)

    def stop_worker(self, proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 40) -> int:
        """Stop one worker and wait for it to exit."""
        return stop(proc, sig, timeout)

    def stop(self, keep_backend: bool = False) -> None:
        """Stop every process (SIGTERM, then SIGKILL); drop the scale-out backend unless kept for a restart."""
        procs = [p for p in [*self.workers, self.web] if p is not None]
        for proc in procs:
            if proc.poll() is None:
                signal_group(proc, signal.SIGTERM)
        for proc in procs:
            wait_or_kill(proc, 30)
        if self.backend is not None and not keep_backend:
            self.backend.drop()

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        """Run one statement on the stack's app database (SQLite or PostgreSQL); `?` placeholders."""
        from playhouse.db_url import connect

        url = self.env.get("DATABASE_URL") or f"sqlite:///{self.data_dir / 'app.db'}"
        db = connect(url)
        try:
            if not url.startswith("sqlite"):
                query = query.replace("?", "%s")
            with db.atomic():
                cursor = db.execute_sql(query, params)
                return list(cursor.fetchall()) if cursor.description else []
        finally:
            db.close()

    def dump_tables(self) -> str:
        """Every row of every table of the app database as text (to search it for secrets)."""
        sqlite = "DATABASE_URL" not in self.env
        names = self.sql("SELECT name FROM sqlite_master WHERE type = 'table'" if sqlite else
                         "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return "\n".join(f"{name}: {row!r}" for (name,) in names for row in self.sql(f'SELECT * FROM "{name}"'))

    def logs(self) -> str:
        """Everything the processes printed (for failure messages)."""
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in self._logs if p.exists())
