"""How good a risk model is: discrimination (AUROC, AUPRC), accuracy (Brier score) and
calibration (curve, slope, intercept), overall and by sex, age band and race.

Calibration slope and intercept come from a logistic recalibration of the outcome on the
logit of the prediction (Cox 1958; Van Calster et al. 2019): a slope of 1 means predictions
spread exactly as much as outcomes do, below 1 that they are too extreme (overfitting). The
intercept is calibration-in-the-large, fitted with the slope held at 1. Groups with fewer
than SMALL_CELL events or non-events get counts suppressed and no metrics: too few to
estimate, and too few to publish.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from ml.types import Bools, Floats

SMALL_CELL = 11
CALIBRATION_BINS = 10
_EPSILON = 1e-12


def logit(p: Floats) -> Floats:
    clipped = np.clip(p, _EPSILON, 1 - _EPSILON)
    result: Floats = np.log(clipped / (1 - clipped))
    return result


@dataclass(frozen=True)
class Recalibration:
    slope: float
    slope_se: float
    intercept: float  # calibration-in-the-large (slope fixed at 1)


def _newton(
    design: Floats, y: Floats, offset: Floats, iterations: int = 50
) -> tuple[Floats, Floats]:
    """Maximum-likelihood logistic regression (no penalty) and its covariance matrix."""
    beta: Floats = np.zeros(design.shape[1])
    information = np.eye(design.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(offset + design @ beta)))
        weights = p * (1 - p)
        information = design.T @ (design * weights[:, None])
        step = np.linalg.solve(information, design.T @ (y - p))
        beta = np.asarray(beta + step, dtype=np.float64)
        if np.max(np.abs(step)) < 1e-10:
            break
    covariance = np.asarray(np.linalg.inv(information), dtype=np.float64)
    return beta, covariance


def recalibration(outcome: Bools, predicted: Floats) -> Recalibration:
    y = outcome.astype(np.float64)
    lp = logit(predicted)
    ones = np.ones((len(y), 1))
    beta, covariance = _newton(np.column_stack([ones, lp]), y, np.zeros(len(y)))
    in_the_large, _ = _newton(ones, y, lp)
    return Recalibration(
        slope=float(beta[1]),
        slope_se=float(np.sqrt(covariance[1, 1])),
        intercept=float(in_the_large[0]),
    )


@dataclass(frozen=True)
class CalibrationBin:
    mean_predicted: float
    observed_rate: float
    units: int


def calibration_curve(
    outcome: Bools, predicted: Floats, bins: int = CALIBRATION_BINS
) -> list[CalibrationBin]:
    """Observed rate against mean prediction in groups of equal size by predicted risk."""
    order = np.argsort(predicted, kind="stable")
    curve = []
    for part in np.array_split(order, min(bins, len(order))):
        if len(part):
            curve.append(
                CalibrationBin(
                    mean_predicted=float(predicted[part].mean()),
                    observed_rate=float(outcome[part].mean()),
                    units=len(part),
                )
            )
    return curve


@dataclass(frozen=True)
class Metrics:
    units: int | None
    events: int | None
    observed_rate: float | None = None
    mean_predicted: float | None = None
    auroc: float | None = None
    auprc: float | None = None
    brier: float | None = None
    calibration_slope: float | None = None
    calibration_slope_se: float | None = None
    calibration_intercept: float | None = None
    calibration_curve: list[CalibrationBin] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _suppressed(count: int) -> int | None:
    return None if 0 < count < SMALL_CELL else count


def evaluate(outcome: Bools, predicted: Floats, *, curve: bool = True) -> Metrics:
    events = int(outcome.sum())
    units = len(outcome)
    if events < SMALL_CELL or units - events < SMALL_CELL:
        return Metrics(units=_suppressed(units), events=_suppressed(events))
    fitted = recalibration(outcome, predicted)
    return Metrics(
        units=units,
        events=events,
        observed_rate=float(outcome.mean()),
        mean_predicted=float(predicted.mean()),
        auroc=float(roc_auc_score(outcome, predicted)),
        auprc=float(average_precision_score(outcome, predicted)),
        brier=float(brier_score_loss(outcome, predicted)),
        calibration_slope=fitted.slope,
        calibration_slope_se=fitted.slope_se,
        calibration_intercept=fitted.intercept,
        calibration_curve=calibration_curve(outcome, predicted) if curve else [],
    )


AGE_BANDS = (
    (18, "0-17"),
    (35, "18-34"),
    (50, "35-49"),
    (65, "50-64"),
    (75, "65-74"),
    (85, "75-84"),
)


def age_band(age_years: Floats) -> NDArray[np.str_]:
    """The reporting age bands of the warehouse (dbt macro `age_band`), on whole years."""
    whole = np.floor(age_years)
    bands = np.full(len(whole), "85+", dtype=object)
    for upper, label in reversed(AGE_BANDS):
        bands[whole < upper] = label
    return bands.astype(str)


def by_group(
    outcome: Bools, predicted: Floats, groups: Mapping[str, NDArray[Any]]
) -> dict[str, dict[str, Metrics]]:
    """Metrics per value of each grouping (missing values as `unknown`)."""
    result: dict[str, dict[str, Metrics]] = {}
    for grouping, values in groups.items():
        labels = np.array(["unknown" if v is None or v == "" else str(v) for v in values])
        result[grouping] = {
            value: evaluate(outcome[labels == value], predicted[labels == value], curve=False)
            for value in sorted(set(labels.tolist()))
        }
    return result
