"""`token create NAME | list | revoke ID`: the API-token commands, for whichever CLI hosts them."""
from __future__ import annotations

from typing import TextIO

from auth.tokens import TokenService
from core.clock import isoformat
from core.errors import NotFound, ValidationFailed

USAGE = "usage: token create NAME | token list | token revoke ID"


def token_command(argv: list[str], tokens: TokenService, out: TextIO, err: TextIO) -> int:
    """Run one token command against an open database; the exit status."""
    verb, args = (argv[0], argv[1:]) if argv else ("", [])
    try:
        if verb == "create" and len(args) == 1:
            row, secret = tokens.create(args[0])
            print(f"token {row.id} ({row.name}) created; it is shown only now:", file=err)
            print(secret, file=out)
            return 0
        if verb == "list" and not args:
            for row in tokens.list():
                print(f"{row.id}\t{row.name}\tcreated {isoformat(row.created_at)}\t"
                      f"last used {isoformat(row.last_used_at) or 'never'}", file=out)
            return 0
        if verb == "revoke" and len(args) == 1 and args[0].isdigit():
            tokens.revoke(int(args[0]))
            print(f"token {args[0]} revoked", file=out)
            return 0
    except (NotFound, ValidationFailed) as exc:
        print(exc.message, file=err)
        return 1
    print(USAGE, file=err)
    return 2
