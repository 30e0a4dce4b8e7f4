"""One sentence per step result, as the Job Center shows it under each step."""
from __future__ import annotations

from collections import Counter
from typing import Any

from suggestions import accuracy_report


def count(n: Any) -> str:
    """1234 -> '1,234'."""
    return f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else str(n)


def plural(n: int, one: str, many: str = "") -> str:
    """'1 transaction', '2 transactions' ('1 category', '2 categories' with `many` given)."""
    return f"{count(n)} {one if n == 1 else many or one + 's'}"


def size(n: int) -> str:
    """Bytes as B, KB or MB with one decimal."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def sync(result: dict) -> str:
    """'3 new transactions, 1 changed (120 in total)'."""
    text = f"{plural(result['new'], 'new transaction')}, {count(result['changed'])} changed"
    return text + (f" ({count(result['total'])} in total)" if result.get("total") is not None else "")


def suggestions(result: dict) -> str:
    """'12 suggestions, 2 skipped (14 transactions considered)'."""
    text = plural(result["suggested"], "suggestion")
    if result.get("skipped") is not None:
        text += f", {count(result['skipped'])} skipped"
    if result.get("considered") is not None:
        text += f" ({plural(result['considered'], 'transaction')} considered)"
    return text + held_back(result) + llm_note(result)


HELD_BACK_REASONS = {"below_min_confidence": "below the minimum confidence {minimum}",
                     "no_usable_history": "without usable history"}


def held_back(result: dict) -> str:
    """'; held back: 3 below the minimum confidence 0.6, 1 without usable history' (empty when none)."""
    held = result.get("heldBack") or {}
    parts = [f"{count(n)} " + HELD_BACK_REASONS.get(reason, humanize(reason).lower()).format(
        minimum=result.get("minConfidence")) for reason, n in held.items() if n]
    return "; held back: " + ", ".join(parts) if parts else ""


def apply(result: dict) -> str:
    """'5 categories applied, 2 skipped: 2 already categorized on the server'."""
    text = f"{plural(result['applied'], 'category', 'categories')} applied, {count(result.get('skipped') or 0)} skipped"
    listed = result.get("skippedTransactions") or {}
    reasons = Counter(listed.values())
    if reasons:
        text += ": " + ", ".join(f"{count(n)} {reason}" for reason, n in reasons.items())
        if len(listed) < (result.get("skipped") or 0):
            text += ", …"
    if result.get("rules"):
        text += "; " + rules(result)
    if result.get("noteTagged"):
        text += f"; {plural(result['noteTagged'], 'note')} tagged {result.get('noteTag', '')}".rstrip()
    return text


def rules(result: dict) -> str:
    """'2 rules created: Blue Bottle → Coffee, Powell's → Books (1 already there)'."""
    made = [r for r in result.get("rules") or [] if r.get("created")]
    text = plural(result.get("rulesCreated", len(made)), "rule") + " created"
    if made:
        text += ": " + ", ".join(f"{r['payeeName']} → {r['categoryName']}" for r in made)
    same = len(result.get("rules") or []) - len(made)
    return text + (f" ({count(same)} already there)" if same else "")


def revert(result: dict) -> str:
    """'5 categories restored, 1 left alone: changed since the apply; 1 rule removed'."""
    text = f"{plural(result['restored'], 'category', 'categories')} restored"
    listed = result.get("leftAloneTransactions") or {}
    if result.get("leftAlone"):
        reasons = Counter(listed.values())
        text += f", {count(result['leftAlone'])} left alone"
        if reasons:
            text += ": " + ", ".join(f"{count(n)} {reason}" for reason, n in reasons.items())
    text += f"; {plural(result.get('rulesRemoved') or 0, 'rule')} removed"
    kept = [r for r in result.get("rules") or [] if r.get("outcome") not in ("removed", "")]
    if kept:
        text += " (" + ", ".join(f"{r['payeeName']} → {r['categoryName']}: {r['outcome']}" for r in kept) + ")"
    return text


def snapshot(result: dict) -> str:
    """'Snapshot 1f2e…: 120 transactions, 14 categories, 48.0 KB'."""
    parts = []
    if result.get("transactions") is not None:
        parts.append(plural(result["transactions"], "transaction"))
    if result.get("categories") is not None:
        parts.append(plural(result["categories"], "category", "categories"))
    if result.get("sizeBytes") is not None:
        parts.append(size(result["sizeBytes"]))
    return f"Snapshot {result['snapshotId']}" + (": " + ", ".join(parts) if parts else "")


def redownload(result: dict) -> str:
    """'120 transactions downloaded again, 3 outdated suggestions dropped'."""
    text = f"{plural(result.get('transactions') or 0, 'transaction')} downloaded again"
    if result.get("droppedSuggestions") is not None:
        text += f", {plural(result['droppedSuggestions'], 'outdated suggestion')} dropped"
    return text


def llm_note(result: dict) -> str:
    """'; the language model placed 3 payee groups' or its note ('… could not be reached …'); empty without one."""
    llm = result.get("llm") or {}
    if llm.get("note"):
        return f"; {llm['note']}"
    if llm.get("answered"):
        return f"; the language model placed {plural(llm['answered'], 'payee group')}"
    return ""


def backtest(result: dict) -> str:
    """'budget-assist 93.1 % right (60.0 % on new payees), last category 85.0 %: 1,234 transactions replayed'."""
    return accuracy_report.sentence(result)


def generic(result: dict) -> str:
    """'Key: value, other key: value' from the plain values of a result no step declaration describes."""
    parts = [f"{humanize(k).lower()}: {_plain(v)}" for k, v in result.items() if not isinstance(v, (dict, list))]
    return humanize(", ".join(parts)) if parts else ""


def _plain(value: Any) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def humanize(name: str) -> str:
    """'droppedSuggestions' stays as is; 'snake_case' -> 'Snake case'."""
    text = str(name).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]
