"""Secure by default: which access mode a web process runs in, decided once from the configuration."""
from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Optional

from auth.passwords import PasswordCheck
from auth.ratelimit import LoginLimiter
from auth.secret_tokens import csrf_token
from auth.sessions import SessionStore
from auth.tokens import TokenService
from core.config import Config, ConfigError

log = logging.getLogger(__name__)

PASSWORD, OPEN, DISABLED = "password", "open", "disabled"


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def access_mode(config: Config) -> str:
    """PASSWORD, OPEN (no password, loopback only) or DISABLED; ConfigError when the service must not start."""
    if config.auth_disabled:
        return DISABLED
    if config.auth_password:
        return PASSWORD
    if is_loopback(config.host):
        return OPEN
    raise ConfigError(f"HOST={config.host} is reachable from other machines and no password is set: set "
                      "AUTH_PASSWORD (or AUTH_PASSWORD_FILE), or AUTH_DISABLED=1 behind a proxy that authenticates")


def announce(mode: str, config: Config) -> None:
    """The start-up log line of the access mode (a warning whenever the API is open)."""
    if mode == DISABLED:
        log.warning("AUTH_DISABLED=1: the API asks no credentials; only safe behind a proxy that authenticates")
    elif mode == OPEN:
        log.warning("no AUTH_PASSWORD set: the API is open to anyone who can reach %s (loopback only)", config.host)
    else:
        log.info("login required (AUTH_PASSWORD); allowed hosts: %s", ", ".join(config.allowed_hosts))


@dataclass(frozen=True)
class Caller:
    """Who sent a request: through a session cookie, a bearer token, or nobody needed (open mode)."""

    via: str  # "session" | "token" | "open"
    session: Optional[str] = None

    @property
    def csrf_token(self) -> Optional[str]:
        """The CSRF token of the caller's session (None for tokens and open mode)."""
        return csrf_token(self.session) if self.session else None


class Gate:
    """Decides who a request comes from, and checks passwords with the login rate limit."""

    def __init__(self, config: Config, sessions: Optional[SessionStore] = None,
                 tokens: Optional[TokenService] = None, limiter: Optional[LoginLimiter] = None) -> None:
        self.config = config
        self.mode = access_mode(config)
        self.password = PasswordCheck(config.auth_password) if self.mode == PASSWORD else None
        self.sessions = sessions or SessionStore(config.session_days)
        self.tokens = tokens or TokenService()
        self.limiter = limiter or LoginLimiter()

    @property
    def required(self) -> bool:
        """Whether requests need a session or token."""
        return self.mode == PASSWORD

    def identify(self, authorization: Optional[str], session_cookie: Optional[str]) -> Optional[Caller]:
        """The caller of a request, or None when it carries no valid credential (a bad bearer token wins)."""
        if authorization is not None:
            scheme, _, secret = authorization.partition(" ")
            if scheme.lower() == "bearer" and self.tokens.check(secret.strip()):
                return Caller("token")
            return None if self.required else Caller("open")
        if session_cookie and self.sessions.valid(session_cookie):
            return Caller("session", session_cookie)
        return None if self.required else Caller("open")
