"""Turn a bank-statement payee name into a stable key: `SQ *BLUE BOTTLE 0412` -> `blue bottle`."""
from __future__ import annotations

import re
from functools import lru_cache

# Card processors and point-of-sale prefixes that say nothing about the merchant.
_PREFIX = re.compile(
    r"^(?:(?:sq|tst|sp|pp|paypal|dd|ddbr|py|in|bt|fs|sms|pos|ckcd|chk|dbt|ach)\s*\*\s*"
    r"|(?:pos|debit card|debit|checkcard|check card|purchase|recurring)\s+(?:purchase\s+)?(?:\d{4}\s+)?)+"
)
# Well-known abbreviations banks print, matched on the whole-word prefix of the cleaned name.
_ALIASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^amzn\s*mktp\b.*"), "amazon marketplace"),
    (re.compile(r"^amazon\s*mktpl?a?c?e?\b.*"), "amazon marketplace"),
    (re.compile(r"^amzn\b.*"), "amazon"),
    (re.compile(r"^wholefds\s*(mkt|market)?\b"), "whole foods market"),
    (re.compile(r"^whole\s*foods(\s+market)?\b"), "whole foods market"),
    (re.compile(r"^wal\s*mart\b|^wm\s+supercenter\b"), "walmart"),
]
_URL = re.compile(r"(?:https?://)?(?:www\.)?((?:[a-z0-9-]+\.)+)(?:com|net|org|io|co|us|tv)(?:/\S*)?")
_HASHNUM = re.compile(r"#\s*\w*\d\w*")
_NOISE = {"inc", "llc", "ltd", "corp", "co"}
_STATES = set(
    "al ak az ar ca co ct de fl ga hi id il in ia ks ky la me md ma mi mn ms mo mt ne nv nh nj nm ny nc "
    "nd oh ok or pa ri sc sd tn tx ut vt va wa wv wi wy dc".split()
)


def _url(match: re.Match[str]) -> str:
    labels = match.group(1).rstrip(".").split(".")
    return " " + labels[-1] + " " if match.start() == 0 else " "


@lru_cache(maxsize=65536)
def normalize_payee(name: str) -> str:
    """A lowercase key without processor prefixes, store numbers, codes, URLs or punctuation."""
    if not name:
        return ""
    s = name.lower().strip()
    s = _PREFIX.sub("", s)
    s = _URL.sub(_url, s)  # netflix.com -> netflix; "uber *trip help.uber.com" -> "uber *trip"
    s = _HASHNUM.sub(" ", s)
    s = s.replace("'", "").replace("\u2019", "").replace("&", " and " if " & " in s else "")
    s = re.sub(r"[^a-z0-9]+", " ", s).strip()
    for pattern, alias in _ALIASES:
        if pattern.match(s):
            s = pattern.sub(alias, s, count=1)
            if alias.startswith("amazon"):
                return alias
            break
    words = s.split()
    kept = [w for w in words if not any(c.isdigit() for c in w) and w not in _NOISE]
    if len(kept) >= 3 and kept[-1] in _STATES:
        kept.pop()
    if not kept:  # only numbers: keep them rather than return nothing
        kept = words
    return " ".join(kept)
