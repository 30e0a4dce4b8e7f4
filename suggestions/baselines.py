"""The two yardsticks the backtest reports beside the engine: a learned baseline and Actual's own habit.

- `TfidfSvcBaseline`: TF-IDF on character 3-5-grams of the payee plus the amount's sign, LinearSVC.
- `LastCategoryBaseline`: the category last used for exactly this payee (what Actual does by itself).
Both always answer when they can and carry no meaningful confidence (1.0).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from scipy import sparse

from budget.connector import Category, Progress, Transaction
from suggestions.types import EngineResult, Proposal


def _sign(rows: Sequence[Transaction]) -> sparse.csr_matrix:
    return sparse.csr_matrix(np.array([[1.0 if t.amount < 0 else 0.0] for t in rows]))


class TfidfSvcBaseline:
    """About twenty lines of scikit-learn: the bar issue 17 sets for the engine."""

    def propose(self, history: Sequence[Transaction], targets: Sequence[Transaction],
                categories: Sequence[Category], progress: Optional[Progress] = None,
                budget_id: Optional[str] = None) -> EngineResult:
        """One proposal per target (none when the history has fewer than two categories)."""
        names = {c.id: c.name for c in categories}
        rows = [t for t in history if t.category_id in names]
        if len({t.category_id for t in rows}) < 2 or not targets:
            return EngineResult([], [t.id for t in targets])
        from sklearn.feature_extraction.text import TfidfVectorizer  # imported on use: the CLI never trains
        from sklearn.svm import LinearSVC

        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=True)
        x = sparse.hstack([vec.fit_transform([t.payee_name for t in rows]), _sign(rows)]).tocsr()
        clf = LinearSVC(random_state=0).fit(x, [t.category_id for t in rows])
        xt = sparse.hstack([vec.transform([t.payee_name for t in targets]), _sign(targets)]).tocsr()
        predicted = clf.predict(xt)
        return EngineResult([Proposal(t.id, c, names[c], 1.0, "TF-IDF + LinearSVC") for t, c in zip(targets, predicted)])


class LastCategoryBaseline:
    """The category of the latest earlier transaction with exactly the same payee."""

    def propose(self, history: Sequence[Transaction], targets: Sequence[Transaction],
                categories: Sequence[Category], progress: Optional[Progress] = None,
                budget_id: Optional[str] = None) -> EngineResult:
        """A proposal for every target whose payee appears in the history; the rest are skipped."""
        names = {c.id: c.name for c in categories}
        last: dict[str, Transaction] = {}
        for t in sorted((t for t in history if t.category_id in names), key=lambda t: t.date):
            last[t.payee_name] = t
        proposals, skipped = [], []
        for t in targets:
            seen = last.get(t.payee_name)
            if seen is None:
                skipped.append(t.id)
            else:
                proposals.append(Proposal(t.id, seen.category_id, names[seen.category_id], 1.0, "last category"))
        return EngineResult(proposals, skipped)
