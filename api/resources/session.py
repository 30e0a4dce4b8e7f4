"""Login, logout, the login page, and API tokens managed from the page."""
from __future__ import annotations

import logging
from pathlib import Path

import falcon

from api import validation as v
from api.security import SESSION_COOKIE, Refused
from auth.policy import PASSWORD, Gate
from auth.tokens import token_dict
from core.errors import ValidationFailed
from core.logsafe import escape

log = logging.getLogger(__name__)


class SessionResource:
    """GET /api/session: am I logged in; POST logs in with {"password"}; DELETE logs out."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller = req.context.caller
        resp.set_header("Cache-Control", "no-store")
        resp.media = {"loggedIn": caller is not None, "mode": self.gate.mode,
                      "via": caller.via if caller else None} | (
            {"csrfToken": caller.csrf_token} if caller is not None and caller.csrf_token else {})

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = v.read_json(req)
        v.only_fields(body, {"password"})
        password = body.get("password")
        if not isinstance(password, str) or not password or len(password) > 1024:
            raise ValidationFailed("password must be a non-empty string.", field="password", code="invalid_type")
        if self.gate.mode != PASSWORD:
            resp.status = falcon.HTTP_204  # nothing to log in to: the API is open (loopback) or behind a proxy
            return
        address = req.context.client
        wait = self.gate.limiter.retry_after(address)
        if wait is not None:
            log.warning("login refused from %s: too many failed attempts", escape(address))
            raise Refused(falcon.HTTP_429, "too_many_attempts", f"Too many failed logins; try again in {wait} s.",
                          headers={"Retry-After": str(wait)})
        if not self.gate.password.matches(password):
            self.gate.limiter.failed(address)
            log.warning("failed login from %s", escape(address))
            raise Refused(falcon.HTTP_401, "invalid_password", "The password is not right.")
        secret = self.gate.sessions.create()
        resp.set_cookie(SESSION_COOKIE, secret, max_age=self.gate.config.session_days * 86400, path="/",
                        secure=req.scheme == "https", http_only=True, same_site="Strict")
        log.info("login from %s", escape(address))
        resp.status = falcon.HTTP_204

    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.gate.sessions.end(req.cookies.get(SESSION_COOKIE) or "")
        resp.unset_cookie(SESSION_COOKIE, path="/")
        resp.status = falcon.HTTP_204


class TokensResource:
    """GET /api/tokens lists tokens; POST {"name"} creates one and shows its secret once."""

    def __init__(self, gate: Gate) -> None:
        self.tokens = gate.tokens

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"tokens": [token_dict(t) for t in self.tokens.list()]}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = v.read_json(req)
        v.only_fields(body, {"name"})
        row, secret = self.tokens.create(v.string(body, "name", max_length=100))
        resp.status = falcon.HTTP_201
        resp.set_header("Cache-Control", "no-store")
        resp.media = {"token": token_dict(row), "secret": secret}


class TokenResource:
    """DELETE /api/tokens/{id} revokes a token."""

    def __init__(self, gate: Gate) -> None:
        self.tokens = gate.tokens

    def on_delete(self, req: falcon.Request, resp: falcon.Response, token_id: int) -> None:
        self.tokens.revoke(token_id)
        resp.status = falcon.HTTP_204


class LoginPageResource:
    """GET /login: the login page."""

    def __init__(self, page: Path) -> None:
        self.page = page

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header("Cache-Control", "no-cache")
        resp.data = self.page.read_bytes()
