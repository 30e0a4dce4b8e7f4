"""The one password, kept only as a slow hash and compared in constant time."""
from __future__ import annotations

import hashlib
import hmac
import secrets

# scrypt with n=2**14, r=8 (16 MiB, ~50 ms here): the stdlib's memory-hard KDF, no extra dependency.
SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}


def _derive(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, **SCRYPT)


class PasswordCheck:
    """Checks a candidate against the configured password; the plain text is not kept."""

    def __init__(self, password: str) -> None:
        self._salt = secrets.token_bytes(16)
        self._digest = _derive(password, self._salt)

    def matches(self, candidate: object) -> bool:
        """True when `candidate` is the password (always does the full slow hash, whatever the input)."""
        text = candidate if isinstance(candidate, str) else ""
        return hmac.compare_digest(_derive(text, self._salt), self._digest) and isinstance(candidate, str)
