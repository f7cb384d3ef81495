"""Monitoring deployed risk models, per tenant, into `ops.model_monitoring` for dashboards.

Two questions each time it runs:
- Drift: has the distribution of today's scores moved away from the training split's? The
  population stability index (PSI) over the training deciles; by the usual rule of thumb
  below 0.1 is stable, 0.1-0.25 a moderate shift, above 0.25 a large one.
- Calibration on outcomes the model has not seen: units whose outcome window closed after
  the last outcome of the training data (the held-out test period first, then every outcome
  that arrives later), scored with the model and compared with what happened.

Rows hold counts and metrics only; counts of 1 to 10 are stored as NULL (small cells).
"""

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime

import numpy as np
import polars as pl
from clickhouse_connect.driver.client import Client

from ml.batch import latest_units
from ml.evaluation import SMALL_CELL, evaluate
from ml.marts import mart_units
from ml.registry import LoadedModel
from ml.scoring import Scored, score_inputs
from ml.training import inputs_of
from ml.types import Floats

OPS = "ops"
TABLE = f"{OPS}.model_monitoring"
_FLOOR = 1e-4
PSI_MODERATE = 0.1
PSI_LARGE = 0.25


def psi(edges: list[float], reference: list[float], scores: Floats) -> float:
    """Population stability index of `scores` against the reference shares of the bins
    delimited by `edges`."""
    counts = np.bincount(np.searchsorted(edges, scores, side="right"), minlength=len(edges) + 1)
    current = np.maximum(counts / max(counts.sum(), 1), _FLOOR)
    expected = np.maximum(np.asarray(reference, dtype=np.float64), _FLOOR)
    return float(np.sum((current - expected) * np.log(current / expected)))


def _drift(value: float | None) -> str | None:
    if value is None:
        return None
    if value > PSI_LARGE:
        return "large"
    return "moderate" if value > PSI_MODERATE else "stable"


def _count(value: int) -> int | None:
    return None if 0 < value < SMALL_CELL else value


@dataclass(frozen=True)
class MonitoringRow:
    computed_at: datetime
    tenant_id: uuid.UUID
    model: str
    version: str
    scored_units: int | None
    mean_score: float | None
    psi: float | None
    drift: str | None
    score_shares: str  # JSON list: today's share of units per training decile
    outcomes_after: date
    outcome_units: int | None
    outcome_events: int | None
    observed_rate: float | None
    mean_predicted: float | None
    auroc: float | None
    brier: float | None
    calibration_slope: float | None
    calibration_intercept: float | None
    calibration_curve: str  # JSON list of {mean_predicted, observed_rate, units}


def _scores(model: LoadedModel, units: pl.DataFrame) -> Floats:
    if units.is_empty():
        return np.zeros(0)
    results = score_inputs(model, inputs_of(model.spec, units))
    return np.array([r.score for r in results if isinstance(r, Scored)], dtype=np.float64)


def monitor(
    client: Client, model: LoadedModel, *, tenant_id: uuid.UUID, computed_at: datetime
) -> MonitoringRow:
    spec = model.spec
    reference = model.card["score_reference"]
    today = _scores(
        model, latest_units(mart_units(client, spec, tenants=[tenant_id], scoring=True), spec)
    )
    drift_psi = psi(reference["edges"], reference["shares"], today) if len(today) else None
    counts = np.bincount(
        np.searchsorted(reference["edges"], today, side="right"),
        minlength=len(reference["edges"]) + 1,
    )
    shares = (counts / counts.sum()).round(4).tolist() if len(today) >= SMALL_CELL else []
    seen_through = date.fromisoformat(model.card["data_window"]["train_outcomes_through"])
    outcomes = mart_units(client, spec, tenants=[tenant_id], complete=True).filter(
        pl.col("window_end_date").cast(pl.Date) > seen_through
    )
    results = score_inputs(model, inputs_of(spec, outcomes)) if len(outcomes) else []
    # Refused units (a required input missing) have no prediction to compare.
    kept = np.array([isinstance(r, Scored) for r in results], dtype=bool)
    predicted = np.array([r.score for r in results if isinstance(r, Scored)], dtype=np.float64)
    observed = outcomes[spec.outcome_column].to_numpy().astype(bool)[kept]
    metrics = evaluate(observed, predicted)
    return MonitoringRow(
        computed_at=computed_at,
        tenant_id=tenant_id,
        model=spec.name,
        version=model.version,
        scored_units=_count(len(today)),
        mean_score=float(today.mean()) if len(today) >= SMALL_CELL else None,
        psi=drift_psi if len(today) >= SMALL_CELL else None,
        drift=_drift(drift_psi) if len(today) >= SMALL_CELL else None,
        score_shares=json.dumps(shares),
        outcomes_after=seen_through,
        outcome_units=metrics.units,
        outcome_events=metrics.events,
        observed_rate=metrics.observed_rate,
        mean_predicted=metrics.mean_predicted,
        auroc=metrics.auroc,
        brier=metrics.brier,
        calibration_slope=metrics.calibration_slope,
        calibration_intercept=metrics.calibration_intercept,
        calibration_curve=json.dumps([asdict(b) for b in metrics.calibration_curve]),
    )


_COLUMNS = {
    "computed_at": "DateTime64(6, 'UTC')",
    "tenant_id": "UUID",
    "model": "LowCardinality(String)",
    "version": "String",
    "scored_units": "Nullable(UInt64)",
    "mean_score": "Nullable(Float64)",
    "psi": "Nullable(Float64)",
    "drift": "Nullable(String)",
    "score_shares": "String",
    "outcomes_after": "Date32",
    "outcome_units": "Nullable(UInt64)",
    "outcome_events": "Nullable(UInt64)",
    "observed_rate": "Nullable(Float64)",
    "mean_predicted": "Nullable(Float64)",
    "auroc": "Nullable(Float64)",
    "brier": "Nullable(Float64)",
    "calibration_slope": "Nullable(Float64)",
    "calibration_intercept": "Nullable(Float64)",
    "calibration_curve": "String",
}


def create_monitoring_table(client: Client) -> None:
    client.command(f"CREATE DATABASE IF NOT EXISTS {OPS}")
    columns = ", ".join(f"{name} {kind}" for name, kind in _COLUMNS.items())
    client.command(
        f"CREATE TABLE IF NOT EXISTS {TABLE} ({columns}) "
        "ENGINE = MergeTree ORDER BY (tenant_id, model, computed_at)"
    )


def write_rows(client: Client, rows: list[MonitoringRow]) -> None:
    create_monitoring_table(client)
    if rows:
        client.insert(
            TABLE,
            [[getattr(row, name) for name in _COLUMNS] for row in rows],
            column_names=list(_COLUMNS),
        )
