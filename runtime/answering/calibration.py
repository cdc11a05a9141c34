"""Calibrated choices: the model's prior over option ids, estimated and removed.

Models prefer some option ids whatever the options say (selection bias; Zheng et al., ICLR
2024). Batch calibration (Zhou et al., ICLR 2024) estimates that prior without labels as the mean
of the model's option probabilities over the questions that offered the same ids, and divides it
out before the argmax: no extra pass, nothing learnt from answers. This module owns the
arithmetic and the running estimate; `VLLMShopModel` decides which answers it applies to
(options with contents: on a rating scale the ids themselves are the answer's meaning).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Choices = tuple[str, ...]


def option_probabilities(logprobs: dict[str, float], choices: Sequence[str]) -> list[float]:
    """The options' probabilities renormalised over `choices` (an option without a log-prob
    counts as impossible)."""
    values = np.array([math.exp(logprobs[c]) if c in logprobs else 0.0 for c in choices])
    total = float(values.sum())
    if total <= 0.0:
        return [1.0 / len(choices)] * len(choices)
    return [float(v) for v in values / total]


def calibrated(probabilities: Sequence[float], prior: Sequence[float]) -> list[float]:
    """Each option's probability divided by its prior, renormalised. A prior of 0 (an id the
    model never gave any weight) leaves that option at 0."""
    p = np.asarray(probabilities, dtype=float)
    q = np.asarray(prior, dtype=float)
    ratio = np.divide(p, q, out=np.zeros_like(p), where=q > 0)
    total = float(ratio.sum())
    return [float(v) for v in ratio / total] if total > 0 else [float(v) for v in p]


def best_choice(scores: Sequence[float], choices: Sequence[str]) -> str:
    """The highest-scoring option; a tie goes to the earlier option."""
    return choices[int(np.argmax(np.asarray(scores)))]


class ChoicePrior:
    """The running mean of option probabilities, per set of option ids."""

    def __init__(self) -> None:
        self._sums: dict[Choices, np.ndarray] = {}
        self._counts: dict[Choices, int] = {}

    def add(self, choices: Choices, probabilities: Sequence[float]) -> None:
        values = np.asarray(probabilities, dtype=float)
        if choices in self._sums:
            self._sums[choices] = self._sums[choices] + values
        else:
            self._sums[choices] = values.copy()
        self._counts[choices] = self._counts.get(choices, 0) + 1

    def count(self, choices: Choices) -> int:
        return self._counts.get(choices, 0)

    def prior(self, choices: Choices) -> list[float]:
        """The mean over the questions seen with these ids (uniform before any)."""
        if not self.count(choices):
            return [1.0 / len(choices)] * len(choices)
        return [float(v) for v in self._sums[choices] / self._counts[choices]]
