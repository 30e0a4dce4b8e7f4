"""Benchmark: suggestion engine on 10,000 targets against 100,000 categorized history transactions.

Run: `.venv/bin/python -m bench.suggest_scale [n_targets] [n_history]`. Prints the figure; asserts nothing.
Data: the demo generator's histories for several seeds (plus a share of never-seen random payees
among the targets, so the fuzzy path and its cache are exercised too). Only `propose` is timed.
"""
from __future__ import annotations

import random
import string
import sys
import time
from dataclasses import replace

from budget import demo_data
from suggestions.engine import SuggestionEngine


def build_data(n_targets: int, n_history: int, seed: int = 7):
    history = []
    s = seed
    while len(history) < n_history:
        history.extend(demo_data.generate_history(s))
        s += 1
    history = history[:n_history]
    rng = random.Random(seed)
    targets = []
    batch = 1
    while len(targets) < n_targets:
        for t in demo_data.next_batch(seed, batch):
            if rng.random() < 0.05:  # unseen merchants: each one costs a fuzzy lookup
                name = " ".join("".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 9))) for _ in range(2))
                t = replace(t, payee_name=f"{name} {rng.randint(100, 9999)}")
            targets.append(t)
        batch += 1
    return history, targets[:n_targets], list(demo_data.CATEGORIES)


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
    measure_suggest(*args)
