"""Turn raw scores into probabilities measured on held-out data (isotonic, pooled conservatively).

`fit` takes (raw score, was it right) pairs from suggestions made on the newest part of the history
by a model trained on the older part. Scores are sorted and cut into bins of at least `min_bin`
pairs; each bin's probability is the lower end of a Wilson interval of its hit rate (z = 2: a bin of
20 with 19 right says 0.76, not 0.95; 40 of 40 say 0.91), then made non-decreasing. Too few pairs: a
fixed, cautious map. z = 2 rather than 1.645 because the suggestions scored later are newer still:
on the Barnet card set the band >= 0.9 of z = 1.645 was right 77 of 88 times (87.5 %).
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Sequence

Z = 2.0  # about 97.7 % one-sided


def wilson_lower(right: float, n: float, z: float = Z) -> float:
    """Lower bound of the Wilson score interval of right/n."""
    if n <= 0:
        return 0.0
    p = right / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - spread) / (1 + z * z / n))


@dataclass
class Calibrator:
    """A non-decreasing step function from raw score to probability of being right."""

    edges: list[float] = field(default_factory=list)  # lower raw-score edge of each bin
    values: list[float] = field(default_factory=list)
    fallback_scale: float = 0.6  # used when nothing was measured: raw * scale

    @classmethod
    def fit(cls, raw: Sequence[float], right: Sequence[bool], min_bin: int = 40,
            fallback_scale: float = 0.6) -> "Calibrator":
        """Measured steps from held-out pairs, or the cautious fallback when there are fewer than 2 bins' worth."""
        pairs = sorted(zip(raw, right))
        if len(pairs) < 2 * min_bin:
            return cls(fallback_scale=fallback_scale)
        bins: list[list[tuple[float, bool]]] = []
        start = 0
        while start < len(pairs):
            end = min(len(pairs), start + min_bin)
            while end < len(pairs) and pairs[end][0] == pairs[end - 1][0]:
                end += 1  # equal scores stay in one bin
            if len(pairs) - end < min_bin:
                end = len(pairs)
            bins.append(pairs[start:end])
            start = end
        values = [wilson_lower(sum(r for _, r in b), len(b)) for b in bins]
        values = _pool_adjacent(values, [len(b) for b in bins])
        edges = [b[0][0] for b in bins]
        edges[0] = float("-inf")
        return cls(edges, values, fallback_scale)

    def __call__(self, raw: float) -> float:
        """Probability that a suggestion with this raw score is right."""
        if not self.edges:
            return max(0.0, min(1.0, raw * self.fallback_scale))
        return self.values[bisect.bisect_right(self.edges, raw) - 1]


def _pool_adjacent(values: list[float], weights: list[int]) -> list[float]:
    """Pool-adjacent-violators: the closest non-decreasing sequence (weighted)."""
    blocks: list[list[float]] = []  # [value, weight, count]
    for v, w in zip(values, weights):
        blocks.append([v, float(w), 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, c2 = blocks.pop()
            v1, w1, c1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    out: list[float] = []
    for v, _, c in blocks:
        out.extend([v] * int(c))
    return out
