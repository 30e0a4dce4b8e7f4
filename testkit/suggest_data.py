"""Demo-generator data at scale for the suggestion engine (the benchmark and a scaled-down unit test)."""
from __future__ import annotations

import random
import string
from dataclasses import replace

from budget import demo_data
from budget.connector import Category, Transaction


def build_data(n_targets: int, n_history: int, seed: int = 7) -> tuple[list[Transaction], list[Transaction],
                                                                         list[Category]]:
    """n_history categorized transactions from several seeds, n_targets new ones (5 % from unseen payees)."""
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
