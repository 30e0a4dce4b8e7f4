"""Command line: `python -m wiring.manage migrate` applies migrations and seeds the demo budget."""
from __future__ import annotations

import sys

from core.config import Config
from wiring.services import prepare


def main(argv: list[str]) -> int:
    """Run one management command."""
    command = argv[0] if argv else "migrate"
    if command != "migrate":
        print(f"unknown command {command!r}; expected: migrate", file=sys.stderr)
        return 2
    config = Config.from_env()
    prepare(config)
    print(f"database ready in {config.data_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
