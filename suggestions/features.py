"""Feature extraction for the learned model: payee texts, notes, amount (sign + magnitude) and account.

Two featurizers, chosen per budget by measurement (model.py): `PayeeFeaturizer` is exactly the
TF-IDF baseline's (character 3-5-grams of the payee as written, plus the amount's sign);
`Featurizer` reads everything below.

For `Featurizer` each transaction becomes three small texts. `payee` holds the normalised payee and imported payee
and the raw strings as the bank wrote them (character 3-5-grams; the raw string adds what
normalisation drops, which measured better on every set); `words` holds their words plus the notes' words; `meta` holds tokens for the
sign, the sign with a magnitude bucket, and the account. Identical feature rows are trained once with
their weights summed (real histories repeat themselves), which keeps training fast.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Sequence

import numpy as np
from scipy import sparse

from budget.connector import Transaction
from suggestions.normalize import normalize_payee

_WORD = re.compile(r"[a-z][a-z0-9]+")


def payee_key(t: Transaction) -> str:
    """The key the exact vote groups by: the normalised payee, else the normalised imported payee."""
    return normalize_payee(t.payee_name) or normalize_payee(t.imported_payee)


def amount_bucket(amount: int) -> int:
    """Order of magnitude of an amount in minor units, in half-decades: 0 (< 1.00) .. 12."""
    major = abs(amount) / 100.0
    return 0 if major < 1 else min(12, 1 + int(math.log10(major) * 2))


@dataclass(frozen=True)
class _Fields:
    payee_name: str
    imported_payee: str
    notes: str


@dataclass(frozen=True)
class Row:
    payee: str  # normalised payee | imported payee | raw strings (character n-grams)
    words: str  # normalised payee and imported payee, then the notes' words
    meta: str  # sign, sign + magnitude bucket, account
    key: str = ""  # what the exact vote groups by (see payee_key)
    name: str = ""  # the payee exactly as written, else the imported payee (PayeeFeaturizer)
    outflow: bool = True


def row_of(t: Transaction) -> Row:
    """The three feature texts of one transaction."""
    return _row(t.payee_name, t.imported_payee, t.notes, t.amount < 0, amount_bucket(t.amount),
                t.account_id or t.account_name or "")


@lru_cache(maxsize=200000)
def _row(payee_name: str, imported_payee: str, notes_text: str, outflow: bool, bucket: int, account_id: str) -> Row:
    t = _Fields(payee_name, imported_payee, notes_text)
    payee = normalize_payee(t.payee_name)
    imported = normalize_payee(t.imported_payee) if t.imported_payee else ""
    text = payee if not imported or imported == payee else f"{payee} | {imported}"
    raw = " ".join(f"{t.payee_name} {t.imported_payee if t.imported_payee != t.payee_name else ''}".lower().split())
    notes = " ".join(_WORD.findall(t.notes.lower())) if t.notes else ""
    sign = "out" if outflow else "in"
    account = re.sub(r"\W+", "_", account_id.lower())
    meta = f"sign_{sign} amt_{sign}_{bucket} acct_{account}"
    return Row(f"{text} | {raw}" if raw and raw != text else text, f"{text} {notes}".strip(), meta, payee or imported,
               payee_name or imported_payee, outflow)


META_WEIGHT = 0.5
WORD_WEIGHT = 0.5


class Featurizer:
    """Fits the vocabularies on the history and turns rows into one sparse matrix."""

    def __init__(self, meta_weight: Optional[float] = None, word_weight: Optional[float] = None) -> None:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer  # on use: the CLI never trains

        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=1,
                                     dtype=np.float32)
        self.words = TfidfVectorizer(token_pattern=r"[a-z0-9][a-z0-9]+", sublinear_tf=True, dtype=np.float32)
        self.meta = CountVectorizer(token_pattern=r"\S+", binary=True, dtype=np.float32)
        self.meta_weight = META_WEIGHT if meta_weight is None else meta_weight
        self.word_weight = WORD_WEIGHT if word_weight is None else word_weight

    def fit_transform(self, rows: Sequence[Row]) -> sparse.csr_matrix:
        """Learn the vocabularies from `rows` and return their features."""
        a = self.chars.fit_transform([r.payee or "_" for r in rows])
        b = self.words.fit_transform([r.words or "_" for r in rows])
        c = self.meta.fit_transform([r.meta for r in rows])
        return sparse.hstack([a, b * self.word_weight, c * self.meta_weight], format="csr")

    def transform(self, rows: Sequence[Row]) -> sparse.csr_matrix:
        """Features of `rows` in the fitted vocabularies (each distinct row vectorized once)."""
        index: dict[Row, int] = {}
        positions = np.array([index.setdefault(r, len(index)) for r in rows], dtype=np.int64)
        distinct = list(index)
        a = self.chars.transform([r.payee or "_" for r in distinct])
        b = self.words.transform([r.words or "_" for r in distinct])
        c = self.meta.transform([r.meta for r in distinct])
        return sparse.hstack([a, b * self.word_weight, c * self.meta_weight], format="csr")[positions]

    def payee_vectors(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Character n-gram vectors of payee texts alone (for 'looks like' neighbours)."""
        return self.chars.transform([t or "_" for t in texts])


class PayeeFeaturizer:
    """The TF-IDF baseline's features: character 3-5-grams of the payee as written (TF-IDF) + the sign.

    Rows come merged with counts (`fit_transform(rows, counts)`); the inverse document frequencies
    count every transaction, so the features equal the baseline's on the unmerged history."""

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import CountVectorizer

        self.chars = CountVectorizer(analyzer="char_wb", ngram_range=(3, 5), dtype=np.float64)
        self.idf = np.zeros(0)

    def fit_transform(self, rows: Sequence[Row], counts: Optional[Sequence[float]] = None) -> sparse.csr_matrix:
        """Learn the vocabulary and the idf (each row counted `counts[i]` times) and return the features."""
        tf = self.chars.fit_transform([r.name for r in rows])
        weights = np.ones(len(rows)) if counts is None else np.asarray(counts, dtype=np.float64)
        df = (tf > 0).T.astype(np.float64) @ weights
        self.idf = np.log((1.0 + weights.sum()) / (1.0 + df)) + 1.0  # scikit-learn's smooth idf
        return self._finish(tf, rows)

    def transform(self, rows: Sequence[Row]) -> sparse.csr_matrix:
        """Features of `rows` in the fitted vocabulary."""
        return self._finish(self.chars.transform([r.name for r in rows]), rows)

    def _finish(self, tf: sparse.csr_matrix, rows: Sequence[Row]) -> sparse.csr_matrix:
        from sklearn.preprocessing import normalize

        x = normalize(tf @ sparse.diags(self.idf), norm="l2")
        sign = sparse.csr_matrix(np.fromiter((r.outflow for r in rows), dtype=np.float64, count=len(rows)).reshape(-1, 1))
        return sparse.hstack([x, sign], format="csr")

    def payee_vectors(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Character n-gram vectors of payee texts alone (for 'looks like' neighbours)."""
        from sklearn.preprocessing import normalize

        return normalize(self.chars.transform([t or "_" for t in texts]) @ sparse.diags(self.idf), norm="l2")
