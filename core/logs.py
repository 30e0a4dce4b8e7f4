"""How every log line of every process is rendered: text or one JSON object per line, secrets masked.

The root logger's one handler renders every line, ours and those of huey and gunicorn (their own handlers
are removed and their loggers propagate here), so a line is printed once and always passes through
`redact` and the control-character escaping below (a path with %0d%0a cannot start a fake line).
"""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
from contextlib import contextmanager
from typing import Any, Iterator, Optional

from core.redact import RedactingFilter, redact

JOB_FIELDS = ("job_id", "budget_id", "job_type")
# Structured fields a caller may pass with `extra=`; the JSON format writes them as keys.
EXTRA_FIELDS = JOB_FIELDS + ("method", "path", "status", "duration_ms", "worker")
THIRD_PARTY_LOGGERS = ("huey", "gunicorn.error", "gunicorn.access")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

_job: contextvars.ContextVar[Optional[dict]] = contextvars.ContextVar("budget_assist_job", default=None)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` with control characters escaped, so it stays on one line and cannot forge another."""
    return _CONTROL.sub(lambda m: _ESCAPES.get(m.group(), f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                                               else f"\\u{ord(m.group()):04x}"), text)


@contextmanager
def job_context(job_id: str, budget_id: Optional[str] = None, job_type: Optional[str] = None) -> Iterator[None]:
    """Attach a job's id (and budget and type once known) to every line logged inside the block."""
    token = _job.set({"job_id": job_id, "budget_id": budget_id, "job_type": job_type})
    try:
        yield
    finally:
        _job.reset(token)


def bind_job(**fields: Optional[str]) -> None:
    """Add what became known about the job in hand (budget_id, job_type) to the current job context."""
    current = _job.get()
    if current is not None:
        current.update({k: v for k, v in fields.items() if k in JOB_FIELDS and v is not None})


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields of a record: its `extra=` fields, then the job in hand."""
    found = {k: getattr(record, k) for k in EXTRA_FIELDS if getattr(record, k, None) is not None}
    for key, value in (_job.get() or {}).items():
        if value is not None:
            found.setdefault(key, value)
    return found


def _masked(value: Any) -> Any:
    return printable(redact(value)) if isinstance(value, str) else value


class TextFormatter(logging.Formatter):
    """`time LEVEL logger message`, the message on one line; tracebacks follow on their own lines."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.message = printable(record.getMessage())
        line = f"{self.formatTime(record)} {record.levelname} {record.name} {record.message}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the job's fields and any structured extras."""

    def format(self, record: logging.LogRecord) -> str:
        at = dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
        obj: dict[str, Any] = {
            "time": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        obj.update({k: redact(v) if isinstance(v, str) else v for k, v in fields_of(record).items()})
        if record.exc_info:
            obj["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            obj["exception"] = redact(record.exc_text)
        return json.dumps(obj, ensure_ascii=False, default=str)  # escapes \n, \r, NUL: one line, always


class RoutineFilter(logging.Filter):
    """Demotes huey's per-task lines (executing, executed, scheduled) to DEBUG; drops them unless DEBUG is on."""

    ROUTINE = ("Executing ", "Enqueueing periodic task ", "Added task ")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and (str(record.msg).startswith(self.ROUTINE)
                                               or str(record.msg).endswith(" executed in %0.3fs")):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


class _OurHandler(logging.StreamHandler):
    """The root handler configure_logging installs (found again on a second call)."""


def make_formatter(fmt: str) -> logging.Formatter:
    """The formatter for LOG_FORMAT `fmt` ('text' or 'json')."""
    return JsonFormatter() if fmt == "json" else TextFormatter()


def configure_logging(level: str, fmt: str = "text") -> None:
    """One handler on the root logger renders every line; huey's and gunicorn's loggers propagate to it."""
    root = logging.getLogger()
    ours = next((h for h in root.handlers if isinstance(h, _OurHandler)), None)
    if ours is None:
        ours = _OurHandler(sys.stderr)
        root.addHandler(ours)
    ours.setFormatter(make_formatter(fmt))
    root.setLevel(level)
    lean_records()
    logging.captureWarnings(True)  # Python warnings (a library's ConvergenceWarning) become lines like any other
    for handler in root.handlers:  # a handler someone else added (pytest's) still never sees a secret
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    adopt_third_party_loggers()


def lean_records() -> None:
    """Stop every LogRecord from looking up what no format here prints: its caller's file and line, thread and
    process (the logging HOWTO's "Optimization"; a no-op job logs a line, and each lookup is a cost per job)."""
    logging._srcfile = None  # type: ignore[attr-defined]  # documented switch: no sys._getframe() walk per record
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


def adopt_third_party_loggers() -> None:
    """Remove the handlers huey_consumer and gunicorn attach to their loggers, so their lines reach ours once.

    Below DEBUG, huey's own logger stops at WARNING: its INFO lines are the routine ones RoutineFilter demotes
    ("Executing", "executed in"), and creating two records per task only to drop them cost a draining worker
    about 5 % of a no-op job's time (py-spy). huey.consumer (start, stop, worker health) keeps the root's level.
    """
    for name in THIRD_PARTY_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True
    root_level = logging.getLogger().level
    debug = root_level <= logging.DEBUG
    logging.getLogger("huey").setLevel(logging.NOTSET if debug else max(root_level, logging.WARNING))
    logging.getLogger("huey.consumer").setLevel(logging.NOTSET if debug else root_level)
    for name in ("huey", "huey.consumer.Scheduler"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RoutineFilter) for f in logger.filters):
            logger.addFilter(RoutineFilter())
