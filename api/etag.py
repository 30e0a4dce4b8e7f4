"""Weak ETags so that pollers get 304 Not Modified for unchanged jobs and lists."""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
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
    """Remembers each URL's last ETag and rendered JSON beside the database's change marker, per thread.

    While nothing was committed since (the marker is unchanged), a poll that sends that ETag gets its
    304 without a query, and one that does not gets the JSON rendered last time, also without a query:
    a 200 then costs what a 304 does. Each thread keeps at most MAX_ENTRIES URLs and MAX_BYTES of
    JSON, dropping the oldest first. Where the database gives no marker (PostgreSQL) it does nothing.
    """

    MAX_ENTRIES = 2048
    MAX_BYTES = 8 * 1024 * 1024

    def __init__(self, marker: Callable[[], Optional[tuple]]) -> None:
        self._marker = marker
        self._local = threading.local()

    def _entries(self) -> "OrderedDict[str, tuple]":
        entries = getattr(self._local, "entries", None)
        if entries is None:
            entries = self._local.entries = OrderedDict()
            self._local.size = 0
        return entries

    def answer(self, req: falcon.Request, resp: falcon.Response) -> bool:
        """Answer 304, or 200 with the JSON rendered before, when the URL's remembered version still holds."""
        marker = self._marker()
        req.context.change_marker = marker
        if marker is None:
            return False
        entry = self._entries().get(req.relative_uri)
        if entry is None or entry[0] != marker:
            return False
        if not_modified(req, resp, entry[1]):
            return True
        if entry[2] is None:
            return False
        resp.data = entry[2]
        resp.content_type = falcon.MEDIA_JSON
        return True

    def remember(self, req: falcon.Request, etag: str, body: Optional[bytes] = None) -> None:
        """Keep `etag` (and the rendered `body`) for the URL with the marker read before they were computed."""
        marker = getattr(req.context, "change_marker", None)
        if marker is None:
            return
        entries = self._entries()
        old = entries.pop(req.relative_uri, None)
        if old is not None and old[2] is not None:
            self._local.size -= len(old[2])
        entries[req.relative_uri] = (marker, etag, body)
        self._local.size += len(body) if body is not None else 0
        while entries and (len(entries) > self.MAX_ENTRIES or self._local.size > self.MAX_BYTES):
            _, dropped = entries.popitem(last=False)
            if dropped[2] is not None:
                self._local.size -= len(dropped[2])


def render(resp: falcon.Response, media: dict) -> bytes:
    """Set `media` as the response's JSON body and return the bytes (to remember them)."""
    body = json.dumps(media, separators=(",", ":"), ensure_ascii=False).encode()
    resp.data = body
    resp.content_type = falcon.MEDIA_JSON
    return body
