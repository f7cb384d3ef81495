"""Training a risk model on the units of its feature mart, with a time-based split.

The test split is the units of the last `spec.test_days` (by index date) whose outcome window
is complete; the training split is every unit whose outcome window had closed by the first
test index date. So no training label was observed after the test period began, and a unit
whose window straddles that date is in neither split. The model is a standardized logistic
regression of the specification's features (the generating models are logistic in these
features, so it is well specified); it is fitted on the training split only and registered
with the test metrics it was measured with.
"""

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ml.evaluation import Metrics, age_band, by_group, evaluate
from ml.features.spec import ModelSpec
from ml.types import Bools, Floats

# Inverse L2 strength on standardized features (scikit-learn's C multiplies the data term, so
# the penalty weighs like a few pseudo-observations): it tempers overfitting of a small
# tenant's fit (calibration slope below 1) and is negligible at tens of thousands of units.
# Chosen on subsamples of a generated population (3,000 patients: diabetes slope median 0.97).
PENALTY_C = 0.3
REFERENCE_BINS = 10


class NotEnoughData(ValueError):
    """A split lacks units or events to fit or measure a model."""


@dataclass(frozen=True)
class Split:
    test_from: date
    train: Bools
    test: Bools


def _dates(values: pl.Series) -> NDArray[np.datetime64]:
    return values.cast(pl.Date).to_numpy().astype("datetime64[D]")


def time_split(units: pl.DataFrame, *, test_days: int) -> Split:
    """Split complete-window units by time (see the module docstring)."""
    index = _dates(units["index_date"])
    window_end = _dates(units["window_end_date"])
    if not len(index):
        raise NotEnoughData("no units with a complete outcome window")
    threshold = index.max() - np.timedelta64(test_days - 1, "D")
    test = index >= threshold
    test_from = index[test].min()
    train = window_end <= test_from
    return Split(test_from=test_from.astype(date), train=train, test=test)


def inputs_of(spec: ModelSpec, frame: pl.DataFrame) -> dict[str, NDArray[Any]]:
    return {name: frame[name].to_numpy() for name in spec.input_names}


def fit(features: Floats, outcome: Bools, *, penalty_c: float = PENALTY_C) -> Pipeline:
    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),
            ("model", LogisticRegression(C=penalty_c, max_iter=2000)),
        ]
    )
    pipeline.fit(features, outcome.astype(np.int64))
    return pipeline


def predict(pipeline: Pipeline, features: Floats) -> Floats:
    result: Floats = pipeline.predict_proba(features)[:, 1].astype(np.float64)
    return result


def reference_distribution(scores: Floats, bins: int = REFERENCE_BINS) -> dict[str, list[float]]:
    """Score bins of the training split (deciles) and their shares: the baseline that drift
    (PSI) is measured against."""
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, bins + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, scores, side="right"), minlength=len(edges) + 1)
    return {"edges": edges.tolist(), "shares": (counts / counts.sum()).tolist()}


@dataclass
class TrainedModel:
    spec: ModelSpec
    pipeline: Pipeline
    trained_at: datetime
    seconds: float
    data_window: dict[str, Any]
    counts: dict[str, int]
    metrics: dict[str, Metrics]
    test_by_group: dict[str, dict[str, Metrics]]
    reference: dict[str, list[float]]
    tenants: list[str] = field(default_factory=list)

    def coefficients(self) -> list[dict[str, float | str]]:
        scaler: StandardScaler = self.pipeline.named_steps["scale"]
        model: LogisticRegression = self.pipeline.named_steps["model"]
        return [
            {
                "feature": name,
                "coefficient_standardized": float(model.coef_[0][i]),
                "coefficient_per_unit": float(model.coef_[0][i] / scaler.scale_[i]),
                "mean": float(scaler.mean_[i]),
                "scale": float(scaler.scale_[i]),
            }
            for i, name in enumerate(self.spec.feature_names)
        ]


def _window(frame: pl.DataFrame, column: str) -> dict[str, str | None]:
    if frame.is_empty():
        return {"from": None, "to": None}
    values = frame[column].cast(pl.Date)
    return {"from": str(values.min()), "to": str(values.max())}


def train(
    spec: ModelSpec,
    units: pl.DataFrame,
    *,
    as_of: date,
    tenants: list[str],
    test_days: int | None = None,
    penalty_c: float = PENALTY_C,
) -> TrainedModel:
    """Fit and measure `spec` on the complete-window units of its mart (one row per unit)."""
    began = time.perf_counter()
    complete = units.filter(pl.col("has_complete_window"))
    split = time_split(complete, test_days=test_days or spec.test_days)
    train_rows = complete.filter(pl.Series(split.train))
    test_rows = complete.filter(pl.Series(split.test))
    outcome_train = train_rows[spec.outcome_column].to_numpy().astype(bool)
    outcome_test = test_rows[spec.outcome_column].to_numpy().astype(bool)
    for name, outcome in (("training", outcome_train), ("test", outcome_test)):
        if outcome.sum() == 0 or outcome.all():
            raise NotEnoughData(f"the {name} split needs units with and without the outcome")
    pipeline = fit(spec.encode(inputs_of(spec, train_rows)), outcome_train, penalty_c=penalty_c)
    predicted_train = predict(pipeline, spec.encode(inputs_of(spec, train_rows)))
    predicted_test = predict(pipeline, spec.encode(inputs_of(spec, test_rows)))
    groups = {
        "sex": test_rows["sex"].to_numpy(),
        "age_band": age_band(test_rows["age_years"].to_numpy().astype(np.float64)),
        "race": test_rows["race"].to_numpy(),
    }
    return TrainedModel(
        spec=spec,
        pipeline=pipeline,
        trained_at=datetime.now(UTC),
        seconds=time.perf_counter() - began,
        data_window={
            "as_of": as_of.isoformat(),
            "train_index_dates": _window(train_rows, "index_date"),
            "train_outcomes_through": _window(train_rows, "window_end_date")["to"],
            "test_index_dates": _window(test_rows, "index_date"),
            "test_from": split.test_from.isoformat(),
        },
        counts={
            "train_units": len(train_rows),
            "train_events": int(outcome_train.sum()),
            "test_units": len(test_rows),
            "test_events": int(outcome_test.sum()),
        },
        metrics={
            "train": evaluate(outcome_train, predicted_train),
            "test": evaluate(outcome_test, predicted_test),
        },
        test_by_group=by_group(outcome_test, predicted_test, groups),
        reference=reference_distribution(predicted_train),
        tenants=sorted(tenants),
    )
