"""Propose categories for uncategorized transactions from the budget's own categorized history.

Method (details in model.py, vote.py, calibration.py):
- an exact-payee vote (normalised payee, see normalize.py) that follows a re-filed payee's latest
  category, and a LinearSVC learned per budget: exactly the TF-IDF baseline's, or one that also reads
  imported payee, notes, amount and account with recent categorizations weighing more, whichever
  the budget's own newest 20 % shows clearly better (separately for known and never-seen payees);
- both calibrated on that newest 20 %, so a confidence of 0.9 means about nine in ten such
  suggestions were right there; per target the chosen answer wins;
- suggestions below `min_confidence` are held back and counted (EngineResult.held_back);
- the rationale names counts and dates (vote) or the look-alike earlier payees (model).

Lifecycle: `train` fits the model (or loads it from the per-budget cache when the history is
unchanged), reporting progress between phases; `propose` = train + predict. The progress callback
may raise to stop the work (cancel, timeout); it is called between training phases and at least
every 100 targets.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Iterable, Optional, Sequence

from budget.connector import Category, Progress, Transaction
from suggestions import model as m
from suggestions.model_cache import ModelCache, fingerprint
from suggestions.llm import LlmAdvisor
from suggestions.rationale import llm_reason, model_reason, neighbour_reasons, vote_reason
from suggestions.types import EngineResult, Proposal

log = logging.getLogger(__name__)

PROGRESS_EVERY = 100
TRAIN_UNITS = 4
"""Training counts as this many units of work in (done, total) before the targets."""

__all__ = ["SuggestionEngine", "EngineResult", "Proposal", "PROGRESS_EVERY"]


def _no_progress(done: int, total: int) -> None:
    return None


class SuggestionEngine:
    def __init__(self, min_confidence: float = 0.0, cache_dir: Optional[Path] = None,
                 llm: Optional[LlmAdvisor] = None) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError("min_confidence must be within 0..1")
        self.min_confidence = min_confidence
        self.cache = ModelCache(cache_dir) if cache_dir is not None else None
        self.llm = llm  # optional cold-start help (suggestions/llm.py); None: local suggestions only
        self._last: tuple[str, m.TrainedModel] | None = None  # the newest model, in memory

    def with_min_confidence(self, min_confidence: float) -> "SuggestionEngine":
        """The same engine (same cache, no LLM: backtests stay local) showing suggestions down to `min_confidence`."""
        other = SuggestionEngine(min_confidence)
        other.cache, other._last = self.cache, self._last
        return other

    # ------------------------------------------------------------------ train
    def train(self, history: Iterable[Transaction], categories: Sequence[Category],
              progress: Optional[Progress] = None, budget_id: Optional[str] = None,
              total: int = TRAIN_UNITS) -> m.TrainedModel:
        """The budget's model: from the cache when the history is unchanged, else trained (and cached)."""
        progress = progress or _no_progress
        history = [t for t in history if t.category_id]
        done = 0

        def step() -> None:
            nonlocal done
            done = min(done + 1, TRAIN_UNITS)
            progress(done, total)

        print_ = fingerprint(history, categories)
        memo_key = f"{budget_id}\x1f{print_}"
        if self._last is not None and self._last[0] == memo_key:
            progress(TRAIN_UNITS, total)
            return self._last[1]
        if self.cache is not None and budget_id:
            cached = self.cache.load(budget_id, print_)
            if cached is not None:
                self._last = (memo_key, cached)
                progress(TRAIN_UNITS, total)
                return cached
        started = time.perf_counter()
        trained = m.train(history, categories, step)
        log.info("suggestion model trained on %d transactions in %.2f s", len(history), time.perf_counter() - started)
        if self.cache is not None and budget_id:
            self.cache.store(budget_id, print_, trained)
        self._last = (memo_key, trained)
        progress(TRAIN_UNITS, total)
        return trained

    # ---------------------------------------------------------------- propose
    def propose(self, history: Iterable[Transaction], targets: list[Transaction], categories: list[Category],
                progress: Optional[Progress] = None, budget_id: Optional[str] = None) -> EngineResult:
        """One proposal or one skip per target; progress in units of TRAIN_UNITS + len(targets)."""
        progress = progress or _no_progress
        total = TRAIN_UNITS + len(targets)
        progress(0, total)
        trained = self.train(history, categories, progress, budget_id, total)
        return self.predict(trained, targets, categories, progress, total)

    def predict(self, trained: m.TrainedModel, targets: list[Transaction], categories: Sequence[Category],
                progress: Optional[Progress] = None, total: Optional[int] = None) -> EngineResult:
        """Proposals from a trained model (and the LLM, when configured, for payees it cannot place well);
        weaker than min_confidence are held back and counted."""
        progress = progress or _no_progress
        total = total if total is not None else TRAIN_UNITS + len(targets)
        names = {c.id: c.name for c in categories}
        proposals: list[Proposal] = []
        skipped: list[str] = []
        held = {"below_min_confidence": 0, "no_usable_history": 0}
        predictions: list = m.predict(trained, targets)
        llm_report = None
        if self.llm is not None and targets:
            size = getattr(trained, "history_size", 0)  # 0 in a model cached before the field existed
            predictions, llm_report = self.llm.advise(targets, predictions, categories, size,
                                                      checkpoint=lambda: progress(TRAIN_UNITS, total))
        neighbours = neighbour_reasons(trained.classifier, [
            p for p in predictions if p is not None and p.confidence >= self.min_confidence], names)
        for done, (t, p) in enumerate(zip(targets, predictions), 1):
            if p is None or p.category_id not in names:
                skipped.append(t.id)
                held["no_usable_history"] += 1
            elif p.confidence < self.min_confidence:
                skipped.append(t.id)
                held["below_min_confidence"] += 1
            else:
                reason = (vote_reason(p.vote, names) if p.source == "vote" else llm_reason(p, t, names)
                          if p.source == "llm" else model_reason(p, neighbours, names))
                proposals.append(Proposal(t.id, p.category_id, names[p.category_id],
                                          round(p.confidence, 4), reason, p.source))
            if done % PROGRESS_EVERY == 0 or done == len(targets):
                progress(TRAIN_UNITS + done, total)
        if not targets:
            progress(total, total)
        return EngineResult(proposals, skipped, {k: v for k, v in held.items() if v},
                            llm_report.as_dict() if llm_report is not None else None)
