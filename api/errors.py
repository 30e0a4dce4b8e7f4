"""The one mapping from errors to HTTP responses: {"error": {"code", "message", "field"?}}."""
from __future__ import annotations

import logging

import falcon

from core.logsafe import escape
from core.errors import Conflict, InvalidTransition, NotFound, ServiceError, Unavailable, ValidationFailed
from core.redact import redact

log = logging.getLogger(__name__)

STATUS_BY_ERROR = [
    (NotFound, falcon.HTTP_404),
    (InvalidTransition, falcon.HTTP_409),
    (Conflict, falcon.HTTP_422),
    (ValidationFailed, falcon.HTTP_422),
    (Unavailable, falcon.HTTP_503),
]


class BadRequest(ServiceError):
    """The request itself is malformed (not JSON)."""

    code = "malformed_json"


class PayloadTooLarge(ServiceError):
    """The body is over the size limit."""

    code = "payload_too_large"


STATUS_BY_ERROR += [(BadRequest, falcon.HTTP_400), (PayloadTooLarge, falcon.HTTP_413)]


def error_body(code: str, message: str, field: str | None = None) -> dict:
    """The JSON body of every error response."""
    error = {"code": code, "message": redact(message)}
    if field:
        error["field"] = field
    return {"error": error}


def _service_error(req: falcon.Request, resp: falcon.Response, ex: ServiceError, params: dict) -> None:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(ex, cls):
            resp.status = status
            break
    else:
        resp.status = falcon.HTTP_400
    resp.media = error_body(ex.code, ex.message, ex.field)


def _http_error(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError, params: dict) -> None:
    resp.status = ex.status
    code = ex.code or {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                       413: "payload_too_large", 415: "unsupported_media_type"}.get(ex.status_code, "http_error")
    message = ex.description or ex.title or "Request failed"
    resp.media = error_body(code, message)
    for key, value in (ex.headers or {}).items():
        resp.set_header(key, value)


def _unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict) -> None:
    log.error("%s %s failed: %s", escape(req.method), escape(req.path), redact(repr(ex)), exc_info=True)
    resp.status = falcon.HTTP_500
    resp.content_type = falcon.MEDIA_JSON  # the responder may have set HTML before it failed
    resp.media = error_body("internal_error", "Something went wrong on our side; the server log has details.")


def _read_timeout(req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict) -> None:
    log.warning("%s %s: the client stopped sending its body (%s)", escape(req.method), escape(req.path), ex)
    resp.status = falcon.HTTP_408
    resp.media = error_body("request_timeout", "The request body did not arrive in time.")
    resp.set_header("Connection", "close")


def install_error_handlers(app: falcon.App) -> None:
    """Register the mapping on `app` (most general first; Falcon picks the most specific)."""
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler((BlockingIOError, TimeoutError), _read_timeout)  # SO_RCVTIMEO (gunicorn.conf.py)
    app.add_error_handler(falcon.HTTPError, _http_error)
    app.add_error_handler(ServiceError, _service_error)
