"""Per-request work: a database connection, and one log line per request."""
from __future__ import annotations

import logging
import time

import falcon

from core.logsafe import escape
from models.db import database, keep_connections

log = logging.getLogger("api.request")


class DatabaseConnection:
    """Opens the app database connection for a request and closes it after (returns it to the pool).

    On SQLite the worker process's connection stays open for its next request (models.db.keep_connections).
    """

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.path.startswith("/api/"):
            database.connect(reuse_if_open=True)

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: object, ok: bool) -> None:
        if not database.is_closed() and not keep_connections():
            database.close()


class RequestLog:
    """One access line per request: method, path, status, milliseconds. Routine requests log at DEBUG: health
    checks, scrapes, and a 304 (a poll that found nothing changed: an open Job Center sends one every few
    seconds, some 40,000 lines a day per tab, and each line costs about as much as the answer).

    The line's text is escaped where it is rendered (core.logs), so a path cannot forge a line.
    """

    ROUTINE = ("/api/health", "/metrics")

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: object, ok: bool) -> None:
        status = int(resp.status[:3]) if isinstance(resp.status, str) else int(resp.status)
        level = logging.DEBUG if status == 304 or req.path in self.ROUTINE else logging.INFO
        if log.isEnabledFor(level):
            elapsed = (time.perf_counter() - req.context.started) * 1000
            log.log(level, "%s %s %s %.1fms", escape(req.method), escape(req.relative_uri), status, elapsed,
                    extra={"method": req.method, "path": req.relative_uri, "status": status,
                           "duration_ms": round(elapsed, 2)})
