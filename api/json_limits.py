"""Parsing a JSON body within a nesting limit: deep input is refused before the parser recurses into it."""
from __future__ import annotations

import json
import re
from typing import Any

from core.errors import ValidationFailed

MAX_DEPTH = 32
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def nesting_depth(raw: bytes, stop_above: int = MAX_DEPTH) -> int:
    """The deepest nesting of arrays and objects in `raw` (brackets in strings do not count), up to stop_above + 1."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRINGS.sub(b'""', raw)):
        if match.group() in b"[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > stop_above:
                break
        else:
            depth -= 1
    return deepest


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    found: dict = {}
    for key, value in pairs:
        if key in found:
            raise ValidationFailed(f"The key {key[:100]!r} appears twice in one object.", field=key[:100],
                                   code="duplicate_key")
        found[key] = value
    return found


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL, and lone surrogates (not encodable as UTF-8)


def _unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    return False


def parse_json(raw: bytes) -> Any:
    """`raw` parsed (ValueError when malformed); 422 when nested deeper than MAX_DEPTH, a key repeats, or a
    string holds NUL or a lone surrogate (no id or name has one, and neither database can store them)."""
    if nesting_depth(raw) > MAX_DEPTH:
        raise ValidationFailed(f"The body is nested deeper than {MAX_DEPTH} levels.", field="body",
                               code="too_deep")
    body = json.loads(raw, object_pairs_hook=_unique_keys)
    if _unstorable(body):
        raise ValidationFailed("A string in the body holds a NUL character or a lone surrogate.", field="body",
                               code="invalid_character")
    return body
