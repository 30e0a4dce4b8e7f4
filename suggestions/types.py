"""What an engine returns: one proposal or one skip per target transaction."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class Proposal:
    transaction_id: str
    category_id: str
    category_name: str
    confidence: float  # 0..1, calibrated: of proposals shown at 0.9, about nine in ten are right
    rationale: str
    source: str = "model"  # "vote" (this payee's own history), "model" (learned from all payees) or "llm"


@dataclass(frozen=True)
class EngineResult:
    proposals: list[Proposal] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    held_back: dict[str, int] = field(default_factory=dict)
    """Why the skipped ones were skipped: reason -> count (e.g. "below_min_confidence": 12)."""
    llm: Optional[dict] = None
    """What asking the language model did (asked, answered, rejected, notAsked, note); None when it is off."""
