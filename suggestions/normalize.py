"""Turn a bank-statement payee name into a stable key: `SQ *BLUE BOTTLE 0412` -> `blue bottle`.

What goes: processor prefixes (`SQ *`, `POS PURCHASE`), store and reference numbers, codes that mix
letters and digits (`H28AX9KW1`), URL boilerplate (`www.`, `.com`, `/bill`), punctuation, a trailing
US state. What stays: every word that names the merchant, including short names with digits (`M1`,
`3M`), the letters before a store number glued to a name (`NYCTAXI5H11` -> `nyctaxi`) and the name
inside a URL wherever it stands (`BILL PAYMENT WWW.ATT.COM` -> `bill payment att`).
"""
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
# Public suffixes after the name in a domain; the label before them names the merchant.
_SUFFIXES = {"com", "net", "org", "io", "co", "us", "tv", "uk", "gov", "ac", "de", "fr", "ca", "au", "eu", "info",
             "biz", "me", "app", "ai", "ie", "nl"}
_HOSTS = {"www", "help", "pay", "billing", "secure", "m", "store", "shop", "checkout", "api"}
_URL = re.compile(r"(?:https?://)?((?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:" + "|".join(sorted(_SUFFIXES)) + r")\.?)"
                  r"(?:/\S*)?(?=\s|\*|$)|(?:https?://)?www\.([a-z0-9-]+)\S*")
_TIME = re.compile(r"\d+(?:[ap]m?|st|nd|rd|th)")
_HASHNUM = re.compile(r"#\s*\w*\d\w*")
_NOISE = {"inc", "llc", "ltd", "corp", "co"}
_STATES = set(
    "al ak az ar ca co ct de fl ga hi id il in ia ks ky la me md ma mi mn ms mo mt ne nv nh nj nm ny nc "
    "nd oh ok or pa ri sc sd tn tx ut vt va wa wv wi wy dc".split()
)
_RUNS = re.compile(r"[a-z]+|\d+")
_DIGIT_DASH = re.compile(r"(?<=\d)-(?=[a-z])")
_PUNCT = re.compile(r"[^a-z0-9]+")


def _domain(match: re.Match[str]) -> str:
    """`www.att.com` -> `att`, `help.uber.com/x` -> `uber`, `www.thekey.co.uk` -> `thekey`."""
    if match.group(2):  # a cut-off `www.name...`
        return f" {match.group(2)} "
    labels = [x for x in match.group(1).rstrip(".").split(".") if x]
    while len(labels) > 1 and labels[-1] in _SUFFIXES:
        labels.pop()
    names = [x for x in labels if x not in _HOSTS] or labels
    return f" {names[-1]} "


def _word(token: str) -> str:
    """The part of one token worth keeping ("" to drop it): see the module docstring."""
    if not any(c.isdigit() for c in token):
        return token
    if token.isdigit():
        return ""
    runs = _RUNS.findall(token)
    if len(token) <= 3:
        return "" if _TIME.fullmatch(token) else token  # m1, 3m, b2b; not 12p (a time)
    if runs[0].isalpha() and len(runs[0]) >= 4:
        return runs[0]  # nyctaxi5h11 -> nyctaxi, inn44513065 -> inn
    if len(runs) >= 3:
        return ""  # a code: ab12c, h28ax9kw1, z9uj3aep92
    if runs[0].isdigit():  # 7eleven stays, 001taxis -> taxis
        return token if len(runs[0]) <= 2 and len(runs[1]) >= 4 else (runs[1] if len(runs[1]) >= 3 else "")
    return runs[0] if len(runs[0]) >= 2 else ""  # gb0000 -> gb, f12345 -> ""


@lru_cache(maxsize=65536)
def normalize_payee(name: str) -> str:
    """A lowercase key without processor prefixes, store numbers, codes, URL boilerplate or punctuation."""
    if not name:
        return ""
    s = name.lower().strip()
    s = _PREFIX.sub("", s)
    if "." in s:
        s = _URL.sub(_domain, s)
    if "#" in s:
        s = _HASHNUM.sub(" ", s)
    if "-" in s:
        s = _DIGIT_DASH.sub("", s)  # 7-eleven -> 7eleven
    s = s.replace("'", "").replace("\u2019", "").replace("&", " and " if " & " in s else "")
    s = _PUNCT.sub(" ", s).strip()
    for pattern, alias in _ALIASES:
        if pattern.match(s):
            s = pattern.sub(alias, s, count=1)
            if alias.startswith("amazon"):
                return alias
            break
    words = s.split()
    kept: list[str] = []
    for w in words:
        for part in _word(w).split():
            if part not in _NOISE and (not kept or kept[-1] != part) and part not in kept[-3:]:
                kept.append(part)
    if len(kept) >= 3 and kept[-1] in _STATES:
        kept.pop()
    if not kept:  # only numbers: keep them rather than return nothing
        kept = [w for w in words if w.isdigit()] or []
    return " ".join(kept)
