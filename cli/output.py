"""How the admin command prints: aligned tables for people, JSON for scripts."""
from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any, Iterable, Sequence, TextIO

from core.logs import printable


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return printable(str(value))


def table(rows: Iterable[dict], columns: Sequence[tuple[str, str]], out: TextIO = sys.stdout) -> None:
    """Print `rows` as a table of `columns` ((key, heading) pairs), or a line saying there is nothing."""
    cells = [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    if not cells:
        print("(none)", file=out)
        return
    headings = [heading for _, heading in columns]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headings)]
    for line in [headings, *cells]:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip(), file=out)


def as_json(value: Any, out: TextIO = sys.stdout) -> None:
    """Print `value` as indented JSON (datetimes as ISO 8601 with Z)."""
    def default(obj: Any) -> Any:
        if isinstance(obj, dt.datetime):
            return obj.isoformat(timespec="milliseconds") + "Z"
        return str(obj)

    print(json.dumps(value, indent=2, default=default, ensure_ascii=False), file=out)
