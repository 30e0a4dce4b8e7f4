"""gunicorn's threaded worker, with the errors gunicorn answers itself (414, 431, 400...) in the API's JSON shape.

gunicorn writes those answers (a request line or header over its limits, a malformed request) before the app
sees the request, as HTML. This worker lets gunicorn classify and log the error as usual, then sends the same
status with the `{"error": {"code", "message"}}` body and the security headers every other answer carries.
"""
from __future__ import annotations

import json
import logging

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from api.security import SECURITY_HEADERS
from core.logsafe import escape

CODES = {400: "bad_request", 403: "forbidden", 408: "request_timeout", 414: "uri_too_long",
         417: "expectation_failed", 431: "headers_too_large", 500: "internal_error", 501: "not_implemented"}
MESSAGES = {414: "The request line (path and query) is too long.",
            431: "A request header, or all of them together, is too large.",
            500: "Something went wrong on our side; the server log has details."}


class _Captured:
    """Stands in for the client socket while gunicorn writes its HTML error, keeping the bytes."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.data += data

    def send(self, data: bytes) -> int:
        self.data += data
        return len(data)


def json_error(status: int, reason: str) -> bytes:
    """A complete HTTP/1.1 error response with the JSON error body."""
    body = json.dumps({"error": {"code": CODES.get(status, "http_error"),
                                 "message": MESSAGES.get(status, f"{reason}.")}}).encode()
    headers = [f"HTTP/1.1 {status} {reason}", "Connection: close", "Content-Type: application/json",
               f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in SECURITY_HEADERS.items())]
    return ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body


class EscapingFilter(logging.Filter):
    """Escapes control characters in gunicorn's own log lines (a request line it quotes is client text);
    a client dropped by the read timeout is one warning line, not a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], BlockingIOError):
            record.msg, record.args, record.exc_info, record.exc_text = (
                "a client sent its request too slowly: closed after the read timeout", None, None, None)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        message = record.getMessage()
        safe = escape(message, limit=2000)
        if safe != message:
            record.msg, record.args = safe, None
        return True


class JsonErrorThreadWorker(ThreadWorker):
    """gthread: a slow or idle client holds one thread, not the whole worker; errors answered as JSON."""

    def init_process(self) -> None:
        for handler in logging.getLogger("gunicorn.error").handlers:
            handler.addFilter(EscapingFilter())
        super().init_process()

    def handle_error(self, req, client, addr, exc) -> None:  # noqa: ANN001  (gunicorn's signature)
        captured = _Captured()
        super().handle_error(req, captured, addr, exc)
        status_line = captured.data.split(b"\r\n", 1)[0].decode("latin-1")
        try:
            _, status, reason = status_line.split(" ", 2)
            response = json_error(int(status), reason)
        except ValueError:
            response = json_error(500, "Internal Server Error")
        try:
            util.write_nonblock(client, response)
        except Exception:  # the client is gone
            self.log.debug("Failed to send error message.")
