"""Reasons a person can check in a second: counts, dates and look-alike payees, never a bare score."""
from __future__ import annotations

import datetime as dt
from typing import Optional

import numpy as np

from suggestions.model import Classifier, Prediction
from suggestions.vote import Vote

NEIGHBOURS = 2
MIN_SIMILARITY = 0.25


def _date(d: dt.date) -> str:
    return f"{d:%b} {d.day}, {d.year}"


def vote_reason(vote: Vote, names: dict[str, str]) -> str:
    """`38 of 40 earlier 'Target' transactions were Groceries, the last on Jun 30, 2025`."""
    name = names.get(vote.category_id, vote.category_id)
    if vote.refiled_from is not None:
        old = names.get(vote.refiled_from, vote.refiled_from)
        return (f"The last {vote.winner} '{vote.display}' transactions were filed as {name} (the latest on "
                f"{_date(vote.last_date)}); the {vote.all_total - vote.winner} before them mostly as {old}")
    if vote.total == 1:
        return f"The one earlier '{vote.display}' transaction was {name} ({_date(vote.last_date)})"
    return (f"{vote.winner} of {vote.total} earlier '{vote.display}' transactions were {name}, "
            f"the last on {_date(vote.last_date)}")


def neighbour_reasons(classifier: Classifier, predictions: list[Optional[Prediction]],
                      names: dict[str, str]) -> dict[str, str]:
    """For model predictions: payee text -> `Looks like TARGET 5555 and TARGET.COM: Groceries, 41 times`."""
    wanted: dict[str, str] = {}
    for p in predictions:
        if p is not None and p.source == "model":
            wanted.setdefault(p.row.words, p.category_id)
    if not wanted or classifier.key_vectors is None or not classifier.keys:
        return {}
    texts = list(wanted)
    vectors = classifier.featurizer.payee_vectors(texts)
    reasons: dict[str, str] = {}
    for start in range(0, len(texts), 256):
        sims = (vectors[start:start + 256] @ classifier.key_vectors.T).toarray()
        for i, sim in enumerate(sims):
            text = texts[start + i]
            category = wanted[text]
            order = np.argsort(-sim)
            picked = []
            for j in order[:200]:
                if sim[j] < MIN_SIMILARITY:
                    break
                if classifier.key_categories[j].get(category):
                    picked.append(j)
                    if len(picked) == NEIGHBOURS:
                        break
            if picked:
                shown = " and ".join(f"'{classifier.key_display[j]}'" for j in picked)
                times = sum(classifier.key_categories[j][category] for j in picked)
                reasons[text] = f"Looks like {shown}: {names.get(category, category)}, {times} time{'s' if times != 1 else ''}"
    return reasons


def model_reason(prediction: Prediction, neighbours: dict[str, str], names: dict[str, str]) -> str:
    """The neighbour sentence, or what the prediction rests on when no earlier payee looks alike."""
    found = neighbours.get(prediction.row.words)
    if found:
        return found
    name = names.get(prediction.category_id, prediction.category_id)
    if prediction.kind == "payee":  # that classifier reads the payee's letters and the sign only
        return f"No earlier payee looks much like this one; the closest spellings were most often {name}"
    parts = prediction.row.meta.split()
    sign = "money in" if parts[0] == "sign_in" else "money out"
    account = parts[2][len("acct_"):] if len(parts) > 2 else ""
    where = f" on {account}" if account else ""
    return f"No earlier payee looks like this one; {sign} of this size{where} was most often {name}"


def llm_reason(pick, target, names: dict[str, str]) -> str:
    """`Suggested by the language model llama3.2 from the payee name 'ZEN NAIL SPA 0412'; ...`."""
    name = names.get(pick.category_id, pick.category_id)
    payee = target.payee_name or target.imported_payee
    return (f"Suggested by the language model {pick.model} from the payee name '{payee}': {name} "
            f"(your own history had nothing close enough to decide)")
