"""How well the documented outcome models can be predicted: the AUROC of the true
probabilities on a generated population (the best any model of the same features can do,
up to sampling noise)."""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


def auroc(scores: NDArray[np.float64], outcomes: NDArray[np.bool_]) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    positives = int(outcomes.sum())
    negatives = len(outcomes) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUROC needs both outcomes")
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    first_rank = np.cumsum(counts) - counts + 1
    average_rank = first_rank + (counts - 1) / 2.0
    ranks = average_rank[inverse]
    u = ranks[outcomes].sum() - positives * (positives + 1) / 2.0
    return float(u / (positives * negatives))


@dataclass(frozen=True)
class OutcomeSummary:
    units: int
    events: int
    rate: float
    achievable_auroc: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "units": self.units,
            "events": self.events,
            "rate": round(self.rate, 4),
            "achievable_auroc": round(self.achievable_auroc, 4),
        }


def summarize(probability: NDArray[np.float64], outcome: NDArray[np.bool_]) -> OutcomeSummary:
    return OutcomeSummary(
        units=len(outcome),
        events=int(outcome.sum()),
        rate=float(outcome.mean()) if len(outcome) else 0.0,
        achievable_auroc=auroc(probability, outcome),
    )
