"""Weak ETags so that pollers get 304 Not Modified for unchanged jobs and lists."""
from __future__ import annotations

import hashlib
from typing import Iterable

import falcon


def make_etag(parts: Iterable[object]) -> str:
    """A weak ETag over the given values."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=12).hexdigest()
    return f'W/"{digest}"'


def not_modified(req: falcon.Request, resp: falcon.Response, etag: str) -> bool:
    """Set the ETag; answer 304 and return True when the client already has this version."""
    resp.set_header("ETag", etag)
    resp.set_header("Cache-Control", "no-cache")
    match = req.get_header("If-None-Match")
    if match and (match.strip() == "*" or etag in [m.strip() for m in match.split(",")]):
        resp.status = falcon.HTTP_304
        return True
    return False
