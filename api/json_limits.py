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


def parse_json(raw: bytes) -> Any:
    """`raw` parsed (ValueError when malformed); 422 when nested deeper than MAX_DEPTH or a key repeats."""
    if nesting_depth(raw) > MAX_DEPTH:
        raise ValidationFailed(f"The body is nested deeper than {MAX_DEPTH} levels.", field="body",
                               code="too_deep")
    return json.loads(raw, object_pairs_hook=_unique_keys)
