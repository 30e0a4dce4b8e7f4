"""Random bearer secrets and the hash under which they are stored."""
from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret(prefix: str = "") -> str:
    """A fresh 256-bit secret, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """The stored form of a high-entropy secret (SHA-256; a slow hash adds nothing at 256 bits)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def csrf_token(session_secret: str) -> str:
    """The CSRF token that goes with a session: derived from the cookie, so a cross-site page cannot know it."""
    return hmac.new(session_secret.encode("utf-8", "surrogatepass"), b"csrf", hashlib.sha256).hexdigest()
