"""Weak ETags so that pollers get 304 Not Modified for unchanged jobs and lists."""
from __future__ import annotations

import hashlib
import threading
from typing import Callable, Iterable, Optional

import falcon


def make_etag(parts: Iterable[object]) -> str:
    """A weak ETag over the given values."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=12).hexdigest()
    return f'W/"{digest}"'


def _matches(req: falcon.Request, etag: str) -> bool:
    match = req.get_header("If-None-Match")
    return bool(match) and (match.strip() == "*" or etag in [m.strip() for m in match.split(",")])


def not_modified(req: falcon.Request, resp: falcon.Response, etag: str) -> bool:
    """Set the ETag; answer 304 and return True when the client already has this version."""
    resp.set_header("ETag", etag)
    resp.set_header("Cache-Control", "no-cache")
    if _matches(req, etag):
        resp.status = falcon.HTTP_304
        return True
    return False


class EtagMemo:
    """Remembers each URL's last ETag beside the database's change marker, per thread.

    While nothing was committed since (the marker is unchanged), a poll that sends that ETag gets its
    304 without a query. Where the database gives no marker (PostgreSQL) it does nothing.
    """

    MAX_ENTRIES = 2048

    def __init__(self, marker: Callable[[], Optional[tuple]]) -> None:
        self._marker = marker
        self._local = threading.local()

    def _entries(self) -> dict:
        entries = getattr(self._local, "entries", None)
        if entries is None or len(entries) > self.MAX_ENTRIES:
            entries = self._local.entries = {}
        return entries

    def answer(self, req: falcon.Request, resp: falcon.Response) -> bool:
        """Answer 304 from memory when the URL's remembered ETag still holds; else note the marker."""
        marker = self._marker()
        req.context.change_marker = marker
        if marker is None:
            return False
        entry = self._entries().get(req.relative_uri)
        if entry is not None and entry[0] == marker:
            return not_modified(req, resp, entry[1])
        return False

    def remember(self, req: falcon.Request, etag: str) -> None:
        """Keep `etag` for the URL with the marker read before it was computed."""
        marker = getattr(req.context, "change_marker", None)
        if marker is not None:
            self._entries()[req.relative_uri] = (marker, etag)
