"""Command line: `python -m wiring.manage migrate` applies migrations and seeds the demo budget;
`python -m wiring.manage token create NAME | list | revoke ID` manages API tokens."""
from __future__ import annotations

import sys

from core.config import Config
from wiring.services import prepare


def main(argv: list[str]) -> int:
    """Run one management command."""
    command = argv[0] if argv else "migrate"
    if command not in ("migrate", "token"):
        print(f"unknown command {command!r}; expected: migrate, token", file=sys.stderr)
        return 2
    config = Config.from_env()
    prepare(config)
    if command == "token":
        from auth.cli import token_command
        from auth.tokens import TokenService
        from models.db import database

        with database.connection_context():
            return token_command(argv[1:], TokenService(), sys.stdout, sys.stderr)
    print(f"database ready in {config.data_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
