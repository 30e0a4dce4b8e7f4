"""Benchmark: suggestion engine on 10,000 targets against 100,000 categorized history transactions.

Run: `.venv/bin/python -m bench.suggest_scale [n_targets] [n_history]`. Prints a summary line, then the
seconds alone on the last line; asserts nothing.
Data: the demo generator's histories for several seeds (plus a share of never-seen random payees
among the targets, so the fuzzy path and its cache are exercised too). Only `propose` is timed.
"""
from __future__ import annotations

import sys
import time

from suggestions.engine import SuggestionEngine
from testkit.suggest_data import build_data


def measure_suggest(n_targets: int = 10000, n_history: int = 100000) -> float:
    """Seconds `SuggestionEngine().propose` takes for n_targets against n_history (printed too)."""
    history, targets, categories = build_data(n_targets, n_history)
    engine = SuggestionEngine()
    started = time.perf_counter()
    result = engine.propose(history, targets, categories, lambda done, total: None)
    seconds = time.perf_counter() - started
    print(
        f"suggest_scale: {n_targets} targets x {n_history} history -> {len(result.proposals)} proposals, "
        f"{len(result.skipped)} skipped in {seconds:.3f} s"
    )
    return seconds


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    print(measure_suggest(*args))
