"""Per-request security: the Host allow-list, who is calling, CSRF, JSON-only bodies, response headers.

Installed first in the middleware list, so its checks run before any resource and its headers go on every
response, errors included. Which routes are public is stated here, in one table.
"""
from __future__ import annotations

import hmac
import ipaddress
from typing import Optional
from urllib.parse import urlsplit

import falcon

from auth.policy import Caller, Gate
from core.config import Config
from core.errors import ValidationFailed

SESSION_COOKIE = "ba_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# (method, path) that answer without credentials: the health check, the login page and what it loads, login.
PUBLIC = frozenset({
    ("GET", "/api/health"), ("HEAD", "/api/health"),
    ("GET", "/login"), ("HEAD", "/login"),
    ("GET", "/static/login.js"), ("GET", "/static/login.css"), ("GET", "/static/app.css"),
    ("GET", "/api/session"), ("POST", "/api/session"), ("DELETE", "/api/session"),
    ("GET", "/metrics"),  # MetricsAccess decides: a METRICS_TOKEN bearer, a session or an API token
})

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
                               "object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class Refused(falcon.HTTPError):
    """An HTTP error with the JSON error code the API documents."""

    def __init__(self, status: str, code: str, message: str, headers: Optional[dict] = None) -> None:
        super().__init__(status, title=message, description=message, headers=headers, code=code)


def unauthorized() -> Refused:
    """401 with the body and challenge every protected route answers without credentials."""
    return Refused(falcon.HTTP_401, "unauthorized", "Log in at /login, or send Authorization: Bearer <token>.",
                   headers={"WWW-Authenticate": 'Bearer realm="budget-assist"'})


def host_name(netloc: str) -> str:
    """The host part of a Host header or URL netloc, lower-cased, without port or IPv6 brackets."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        return netloc[1:netloc.find("]")] if "]" in netloc else netloc[1:]
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc


def client_address(req: falcon.Request, trusted_proxies: tuple[str, ...]) -> str:
    """The client's address; behind a trusted proxy, the last hop it appended to X-Forwarded-For."""
    address = req.remote_addr or "unknown"
    forwarded = req.get_header("X-Forwarded-For")
    if forwarded and address in trusted_proxies:
        last = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            return address
    return address


def same_origin(url: Optional[str], req: falcon.Request) -> bool:
    """True when `url` (an Origin or Referer header) names this host and port."""
    if not url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.netloc.lower() == req.netloc.lower()


class SecurityMiddleware:
    """Host allow-list (400), credentials (401), CSRF (403), JSON bodies (415), repeated query parameters (422);
    security headers on every answer."""

    def __init__(self, config: Config, gate: Gate) -> None:
        self.allowed_hosts = frozenset(config.allowed_hosts)
        self.trusted_proxies = config.trusted_proxies
        self.gate = gate

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.caller = None
        req.context.client = client_address(req, self.trusted_proxies)
        if "*" not in self.allowed_hosts and host_name(req.get_header("Host") or "") not in self.allowed_hosts:
            raise Refused(falcon.HTTP_400, "host_not_allowed",
                          "This Host header is not served here; add it to ALLOWED_HOSTS.")
        caller = self.gate.identify(req.get_header("Authorization"), req.cookies.get(SESSION_COOKIE))
        req.context.caller = caller
        if caller is None and (req.method, req.path) not in PUBLIC:
            if req.method in ("GET", "HEAD") and req.path == "/":
                raise falcon.HTTPSeeOther("/login?next=%2F")  # a logged-out visitor: to the login page and back
            raise unauthorized()
        if req.method in UNSAFE_METHODS:
            self._check_origin(req, caller)
            self._check_content_type(req)
        if "\x00" in req.path or "%00" in req.query_string:
            raise Refused(falcon.HTTP_400, "nul_character", "The path or query holds a NUL character.")
        for name, value in req.params.items():
            if isinstance(value, list):  # Falcon would hand the resource only the last one
                raise ValidationFailed(f"The query parameter {name[:100]!r} is given more than once.",
                                       field=name[:100], code="repeated_parameter")

    def _check_origin(self, req: falcon.Request, caller: Optional[Caller]) -> None:
        origin = req.get_header("Origin")
        if origin is not None and not same_origin(origin, req):
            raise Refused(falcon.HTTP_403, "cross_site_request", "Cross-site requests are refused.")
        if caller is not None and caller.via == "session" and origin is None:
            token = (req.get_header(CSRF_HEADER) or "").encode("utf-8", "surrogateescape")
            expected = caller.csrf_token.encode()
            if not (same_origin(req.get_header("Referer"), req) or hmac.compare_digest(token, expected)):
                raise Refused(falcon.HTTP_403, "csrf_failed",
                              f"A request with a session cookie needs an Origin header or {CSRF_HEADER}.")

    def _check_content_type(self, req: falcon.Request) -> None:
        content_type = req.get_header("Content-Type")
        has_body = bool(req.content_length) or req.get_header("Transfer-Encoding") is not None
        if content_type is None and not has_body:
            return
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            raise Refused(falcon.HTTP_415, "unsupported_media_type", "Send the body as application/json.")

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: object, ok: bool) -> None:
        for name, value in SECURITY_HEADERS.items():
            resp.set_header(name, value)
