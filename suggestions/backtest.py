"""Replay a budget's categorized history: train on the earliest part, suggest for the latest, score.

`backtest(history, categories)` sorts the categorized transactions by date, keeps the earliest
`split` (70 %) as history and asks each engine for the rest. For each engine it reports:
- accuracy: right suggestions / all transactions to predict (no suggestion counts as wrong);
- coverage: suggestions made / all transactions to predict;
- unseen: the same two figures over transactions whose payee never appears in the history;
- reliability (engines with calibrated confidence): per confidence band, how many suggestions fell
  in it and how many of those were right.
The engine is run twice: with every suggestion kept (`engine_all`) and with its configured
minimum confidence (`engine`), so the table shows what the threshold costs and buys.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from budget.connector import Category, Transaction
from suggestions.baselines import LastCategoryBaseline, TfidfSvcBaseline
from suggestions.features import payee_key
from suggestions.types import EngineResult

BASELINES = {"tfidf_svc": TfidfSvcBaseline, "last_category": LastCategoryBaseline}
BANDS = ((0.0, 0.2), (0.2, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.0001))


def split_history(history: Sequence[Transaction], split: float = 0.7) -> tuple[list[Transaction], list[Transaction]]:
    """Earliest `split` share (by date, then id) and the rest."""
    rows = sorted((t for t in history if t.category_id), key=lambda t: (t.date, t.id))
    cut = int(len(rows) * split)
    return rows[:cut], rows[cut:]


def score(result: EngineResult, targets: Sequence[Transaction], seen_keys: set[str],
          with_bands: bool = False) -> dict:
    """Accuracy, coverage, unseen-payee figures (and reliability bands) of one engine's answer."""
    truth = {t.id: t.category_id for t in targets}
    unseen = {t.id for t in targets if payee_key(t) not in seen_keys}
    right = [p for p in result.proposals if truth.get(p.transaction_id) == p.category_id]
    n, nu = len(targets), len(unseen)
    out = {
        "predicted": n,
        "suggested": len(result.proposals),
        "right": len(right),
        "accuracy": round(len(right) / n, 4) if n else None,
        "coverage": round(len(result.proposals) / n, 4) if n else None,
        "unseen": {
            "predicted": nu,
            "suggested": sum(1 for p in result.proposals if p.transaction_id in unseen),
            "right": sum(1 for p in right if p.transaction_id in unseen),
        },
    }
    out["unseen"]["accuracy"] = round(out["unseen"]["right"] / nu, 4) if nu else None
    if with_bands:
        bands = []
        for lo, hi in BANDS:
            inside = [p for p in result.proposals if lo <= p.confidence < hi]
            ok = sum(1 for p in inside if truth.get(p.transaction_id) == p.category_id)
            bands.append({"from": lo, "to": min(hi, 1.0), "suggested": len(inside), "right": ok,
                          "accuracy": round(ok / len(inside), 4) if inside else None})
        out["reliability"] = bands
    return out


def backtest(history: Sequence[Transaction], categories: Optional[Sequence[Category]] = None, *,
             split: float = 0.7, engine=None, min_confidence: Optional[float] = None,
             extra: Optional[dict] = None, progress: Optional[Callable[[int, int], None]] = None,
             baselines: Sequence[str] = ("tfidf_svc", "last_category")) -> dict:
    """Figures for the engine and the `baselines` on one time split of `history` (see module docstring)."""
    from suggestions.engine import SuggestionEngine  # the engine imports nothing from here

    categories = list(categories) if categories is not None else _categories_of(history)
    train, targets = split_history(history, split)
    seen = {payee_key(t) for t in train}
    engine = engine or SuggestionEngine()
    threshold = engine.min_confidence if min_confidence is None else min_confidence
    everything = engine.with_min_confidence(0.0).propose(train, targets, categories, progress)
    shown = EngineResult([p for p in everything.proposals if p.confidence >= threshold])
    engines: dict[str, dict] = {
        "engine": score(shown, targets, seen, with_bands=True),
        "engine_all": score(everything, targets, seen, with_bands=True),
    }
    for name in baselines:
        engines[name] = score(BASELINES[name]().propose(train, targets, categories), targets, seen)
    for name, other in (extra or {}).items():
        engines[name] = score(other.propose(train, targets, categories), targets, seen, with_bands=True)
    dates = [t.date for t in train + targets]
    return {
        "split": split,
        "history": len(train),
        "predicted": len(targets),
        "from": min(dates).isoformat() if dates else None,
        "cut": targets[0].date.isoformat() if targets else None,
        "to": max(dates).isoformat() if dates else None,
        "minConfidence": threshold,
        "engines": engines,
    }


def _categories_of(history: Sequence[Transaction]) -> list[Category]:
    return [Category(c, c, "") for c in sorted({t.category_id for t in history if t.category_id})]
