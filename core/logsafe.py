"""Escapes text from outside (paths, headers, names) before it goes into a log line."""
from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides that reorder a line.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
MAX_LOGGED = 500


def _escape_one(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: object, limit: int = MAX_LOGGED) -> str:
    """`text` on one line: control and reordering characters as \\xNN / \\uNNNN escapes, long text cut."""
    value = text if isinstance(text, str) else str(text)
    value = value.replace("\\", "\\\\")
    escaped = _UNSAFE.sub(_escape_one, value)
    return escaped if len(escaped) <= limit else escaped[:limit] + f"…(+{len(escaped) - limit})"
