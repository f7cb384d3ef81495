"""Scores from model inputs: probability, tier, top contributing factors and the inputs that
were missing. Batch runs and on-demand requests both come through `score_inputs`.

A factor is a feature whose standardized value pushes the log-odds up: coefficient x
(value - training mean) / training standard deviation. The top few (largest first) are
shown with the recorded input behind them. Units missing an input the model cannot do
without are refused, never scored with a guess; every other missing input is named.
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.features.spec import WhenMissing
from ml.registry import LoadedModel
from ml.types import Bools, Inputs

TOP_FACTORS = 3


@dataclass(frozen=True)
class Scored:
    score: float
    tier: str
    factors: list[dict[str, Any]]
    missing_inputs: list[str]


@dataclass(frozen=True)
class Refusal:
    missing_inputs: list[str]


def _plain(value: Any) -> Any:
    """A JSON-ready recorded value (numbers rounded for display, NaN as null)."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else round(float(value), 4)
    return str(value)


def score_inputs(
    model: LoadedModel, inputs: Inputs, *, top: int = TOP_FACTORS
) -> list[Scored | Refusal]:
    """One result per unit of `inputs`, in order."""
    spec = model.spec
    missing = spec.missing(inputs)
    names = spec.input_names
    refused: Bools = np.zeros(len(np.asarray(inputs[names[0]], dtype=object)), dtype=bool)
    for item in spec.inputs:
        if item.when_missing == WhenMissing.REFUSE:
            refused |= missing[item.name]
    features = spec.encode(inputs)
    contributions = model.contributions(features)
    scores = model.scores(features)
    tiers = spec.tiers.of(scores)
    ranked = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
    sources = [f.source for f in spec.features]
    raw = {name: np.asarray(inputs[name], dtype=object) for name in names}
    results: list[Scored | Refusal] = []
    for row in range(len(refused)):
        lacking = [name for name in names if missing[name][row]]
        if refused[row]:
            results.append(Refusal(missing_inputs=lacking))
            continue
        factors = [
            {
                "name": spec.features[j].name,
                "value": _plain(raw[sources[j]][row]),
                "contribution": round(float(contributions[row, j]), 4),
            }
            for j in ranked[row]
            if contributions[row, j] > 0
        ]
        results.append(
            Scored(
                score=float(scores[row]),
                tier=str(tiers[row]),
                factors=factors,
                missing_inputs=lacking,
            )
        )
    return results
