"""Benchmark: suggestion engine on 10,000 targets against 100,000 categorized history transactions.

Run: `.venv/bin/python -m bench.suggest_scale [n_targets] [n_history]`. Prints a summary line, the
process's CPU seconds of the timed part as `cpu_s <s>`, its peak resident memory as
`peak_rss_mib <MiB>`, the seconds of the same suggestions from a model cached on disk (a new engine
reading the per-budget cache, as a later job with an unchanged history does) as `cached_s <s>`, then
the seconds of the cold run alone on the last line;
asserts nothing. Timed: `propose` = train (fresh, no cache) + predict. The peak RSS is the whole
process's (Python, scikit-learn, the generated history and targets, training and prediction).
Data: the demo generator's histories for several seeds (plus a share of never-seen random payees
among the targets, so the model-alone path is exercised too).
"""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import sklearn.feature_extraction.text  # noqa: F401 - the worker imports these at start (wiring.process.warm_up)
import sklearn.preprocessing  # noqa: F401
import sklearn.svm  # noqa: F401

from suggestions.engine import SuggestionEngine
from testkit.suggest_data import build_data


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_suggest(n_targets: int = 10000, n_history: int = 100000) -> float:
    """Seconds `SuggestionEngine().propose` takes for n_targets against n_history (printed too, with peak RSS)."""
    history, targets, categories = build_data(n_targets, n_history)
    engine = SuggestionEngine()
    started, cpu = time.perf_counter(), time.process_time()
    result = engine.propose(history, targets, categories, lambda done, total: None)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"suggest_scale: {n_targets} targets x {n_history} history -> {len(result.proposals)} proposals, "
        f"{len(result.skipped)} skipped in {seconds:.3f} s ({cpu:.3f} s CPU)"
    )
    print(f"cpu_s {cpu:.3f}")
    print(f"peak_rss_mib {peak_rss_mib():.1f}")
    with tempfile.TemporaryDirectory(prefix="suggest-cache-") as cache:
        SuggestionEngine(cache_dir=Path(cache)).propose(history, targets, categories, lambda done, total: None, "bench")
        started = time.perf_counter()
        SuggestionEngine(cache_dir=Path(cache)).propose(history, targets, categories, lambda done, total: None, "bench")
        print(f"cached_s {time.perf_counter() - started:.3f}")
    return seconds


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")  # liblinear's convergence note is not a figure
    args = [int(a) for a in sys.argv[1:3]]
    print(measure_suggest(*args))
