"""`budget-assist doctor`: checks what the service needs and prints one line per problem with what to do."""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from typing import Callable, Optional

from cli.output import as_json
from core.config import Config, ConfigError


@dataclass
class Finding:
    """One check's outcome: ok, or a problem and what to do about it."""

    check: str
    ok: bool
    detail: str
    fix: str = ""


def check_config() -> tuple[Optional[Config], Finding]:
    """The environment parses into a configuration and DATA_DIR can be created."""
    try:
        config = Config.from_env()
    except ConfigError as exc:
        return None, Finding("config", False, str(exc), "fix that variable in the environment or .env file")
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return config, Finding("config", False, f"DATA_DIR {config.data_dir} cannot be created ({exc.strerror})",
                               "point DATA_DIR at a writable directory")
    return config, Finding("config", True, f"DATA_DIR {config.data_dir}")


def check_database(config: Config) -> Finding:
    """The database answers and its schema is current."""
    from models.db import database, open_database
    from models.migrate import pending

    try:
        open_database(config.database_url, pool_size=2)
        database.connect(reuse_if_open=True)
        database.execute_sql("SELECT 1")
        behind = pending()
    except Exception as exc:  # any driver error is a finding, not a crash
        return Finding("database", False, f"cannot open {_scheme(config.database_url)} database: "
                       f"{exc.__class__.__name__}: {exc}", "check DATABASE_URL and that the server runs")
    if behind:
        return Finding("database", False, f"{len(behind)} migration(s) pending ({', '.join(map(str, behind))})",
                       "run `budget-assist migrate` (the web and worker also migrate when they start)")
    return Finding("database", True, f"{_scheme(config.database_url)}, schema current")


def check_queue(config: Config) -> Finding:
    """The queue answers (SQLite file or Redis)."""
    from core.queue import make_huey

    try:
        count = make_huey(config.queue_url, config.queue_name).pending_count()
    except Exception as exc:
        return Finding("queue", False, f"cannot reach the {_scheme(config.queue_url)} queue: "
                       f"{exc.__class__.__name__}: {exc}", "check QUEUE_URL and that Redis runs (if used)")
    return Finding("queue", True, f"{_scheme(config.queue_url)}, {count} task(s) waiting")


def check_actual(config: Config) -> Finding:
    """With ACTUAL_SERVER_URL: the server answers and accepts ACTUAL_PASSWORD."""
    if not config.actual_server_url:
        return Finding("actual", True, "ACTUAL_SERVER_URL not set: demo budgets only")
    from budget.actual import ActualSession
    from budget.connector import ConnectorError

    try:
        session = ActualSession(config.actual_server_url, config.actual_password or "", timeout=10)
        session.token  # noqa: B018 - logging in is the check
    except ConnectorError as exc:
        return Finding("actual", False, exc.message, "start the Actual server or fix ACTUAL_SERVER_URL / "
                       "ACTUAL_PASSWORD, then restart the worker")
    return Finding("actual", True, f"{session.display_url}: reachable, logged in")


def check_workers(config: Config) -> Finding:
    """A worker has been seen within HEARTBEAT_TIMEOUT_SECONDS."""
    from jobs.workers import WorkerDirectory

    try:
        health = WorkerDirectory(config.heartbeat_timeout_seconds).health()
    except Exception as exc:
        return Finding("worker", False, f"cannot read the worker list: {exc.__class__.__name__}",
                       "fix the database first")
    if health["workers"]:
        return Finding("worker", True, f"{health['workers']} alive, {health['queuedJobs']} job(s) queued")
    waiting = f"; {health['queuedJobs']} job(s) are waiting" if health["queuedJobs"] else ""
    return Finding("worker", False, f"no worker seen in the last {config.heartbeat_timeout_seconds:g} s{waiting}",
                   "start one: `make run`, or `huey_consumer tasks.huey` as in the Procfile")


def _scheme(url: str) -> str:
    return url.split(":", 1)[0]


def findings() -> list[Finding]:
    """Every check, in order; later checks are skipped when the configuration cannot be read."""
    from core.redact import register_secrets

    config, first = check_config()
    if config is None:
        return [first]
    register_secrets(config.secrets())
    found = [first, check_database(config)]
    checks: list[Callable[[Config], Finding]] = [check_queue, check_actual]
    if found[-1].ok:
        checks.append(check_workers)
    found += [check(config) for check in checks]
    return found


def run(json_out: bool = False) -> int:
    """Print the findings; 1 when any is a problem."""
    from core.logs import configure_logging
    from core.redact import redact

    configure_logging("WARNING")
    found = findings()
    if json_out:
        as_json({"ok": all(f.ok for f in found),
                 "checks": [{k: redact(v) if isinstance(v, str) else v for k, v in asdict(f).items()} for f in found]})
    else:
        for f in found:
            line = f"ok   {f.check}: {f.detail}" if f.ok else f"FAIL {f.check}: {f.detail} -> {f.fix}"
            print(redact(line))
    return 0 if all(f.ok for f in found) else 1

