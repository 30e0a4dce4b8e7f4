"""Log lines: one per event, secrets masked, control characters escaped, JSON when asked."""
from __future__ import annotations

import io
import json
import logging

import pytest

from core.logs import JsonFormatter, RoutineFilter, TextFormatter, bind_job, configure_logging, job_context
from core.redact import register_secrets

SECRET = "s3cret-for-the-log-tests"


def record(msg: str, *args: object, level: int = logging.INFO, name: str = "test", **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord(name, level, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


@pytest.fixture(autouse=True)
def secret():
    register_secrets([SECRET])


def test_text_lines_mask_secrets_in_the_message_and_its_arguments():
    line = TextFormatter().format(record("login with %s failed", SECRET))
    assert SECRET not in line and line.endswith("INFO test login with *** failed")


def test_text_lines_escape_control_characters_so_a_path_cannot_forge_a_line():
    line = TextFormatter().format(record("GET %s 404", "/x\r\n2026-01-01 INFO fake\x00"))
    assert "\n" not in line and "\r" not in line and "\x00" not in line
    assert line.endswith("GET /x\\r\\n2026-01-01 INFO fake\\x00 404")


def test_a_traceback_is_masked_too():
    try:
        raise RuntimeError(f"password was {SECRET}")
    except RuntimeError:
        import sys

        rec = logging.LogRecord("test", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    for formatter in (TextFormatter(), JsonFormatter()):
        assert SECRET not in formatter.format(rec)


def test_json_lines_are_one_object_with_the_job_in_hand():
    with job_context("job-1"):
        bind_job(budget_id="demo", job_type="budget_sync")
        line = JsonFormatter().format(record("step %s\ndone with %s", "sync", SECRET))
    assert "\n" not in line
    obj = json.loads(line)
    assert obj["message"] == "step sync\ndone with ***"
    assert (obj["job_id"], obj["budget_id"], obj["job_type"]) == ("job-1", "demo", "budget_sync")
    assert obj["level"] == "INFO" and obj["logger"] == "test" and obj["time"].endswith("Z")


def test_json_lines_carry_structured_extras_and_no_job_outside_one():
    obj = json.loads(JsonFormatter().format(record("GET /api/jobs 200", method="GET", path="/api/jobs",
                                                   status=200, duration_ms=1.5)))
    assert (obj["method"], obj["path"], obj["status"], obj["duration_ms"]) == ("GET", "/api/jobs", 200, 1.5)
    assert "job_id" not in obj


def test_huey_per_task_lines_become_debug_lines():
    f = RoutineFilter()
    rec = record("Executing %s", "tasks.reconcile: 1", name="huey")
    logging.getLogger().setLevel(logging.INFO)
    assert f.filter(rec) is False and rec.levelname == "DEBUG"
    assert f.filter(record("Huey consumer started with %s", 2, name="huey.consumer")) is True


def test_third_party_handlers_are_removed_so_each_line_prints_once(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    huey_logger = logging.getLogger("huey")
    huey_logger.addHandler(logging.StreamHandler(stream))  # what huey_consumer does
    huey_logger.propagate = True
    try:
        root.handlers = [h for h in root.handlers if type(h).__name__ != "_OurHandler"]
        configure_logging("INFO", "text")
        logging.getLogger("huey.consumer").info("Huey consumer started with %s", SECRET)
    finally:
        root.handlers, _ = saved
        root.setLevel(saved[1])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and SECRET not in lines[0] and lines[0].endswith("Huey consumer started with ***")


def test_below_debug_huey_routine_records_are_never_created_but_the_consumer_still_speaks():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO", "text")
        assert not logging.getLogger("huey").isEnabledFor(logging.INFO)  # "Executing …": not even a record
        assert logging.getLogger("huey").isEnabledFor(logging.WARNING)  # "Task … was revoked" still prints
        assert logging.getLogger("huey.consumer").isEnabledFor(logging.INFO)  # start and stop lines
        configure_logging("DEBUG", "text")
        assert logging.getLogger("huey").isEnabledFor(logging.DEBUG)  # with DEBUG on, every huey line is there
    finally:
        root.handlers, _ = saved
        root.setLevel(saved[1])
        configure_logging(logging.getLevelName(saved[1]), "text")
