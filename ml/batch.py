"""Batch scoring: every unit a model scores today (the `is_scoring_unit` rows of its mart,
the latest one of each patient), for one tenant, as scores ready to be written back through
`transactional.risk.services`.

Units the model refuses (an input it cannot do without is missing) are counted, not written.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl
from clickhouse_connect.driver.client import Client

from ml.features.spec import ModelSpec
from ml.marts import mart_units
from ml.registry import LoadedModel
from ml.scoring import Refusal, score_inputs
from ml.training import inputs_of
from transactional.risk.services import NewScore


@dataclass
class BatchScores:
    model: str
    version: str
    scores: list[NewScore] = field(default_factory=list)
    refused: int = 0


def _uuid(value: object) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


def latest_units(units: pl.DataFrame, spec: ModelSpec) -> pl.DataFrame:
    """Each patient's latest unit: a current score is about it (a readmitted patient's
    earlier stay is past its question), as on demand."""
    return units.sort(["patient_id", "index_date", spec.key]).unique(
        subset=["patient_id"], keep="last", maintain_order=True
    )


def score_units(model: LoadedModel, units: pl.DataFrame, *, computed_at: datetime) -> BatchScores:
    spec = model.spec
    batch = BatchScores(model=spec.name, version=model.version)
    if units.is_empty():
        return batch
    units = latest_units(units, spec)
    results = score_inputs(model, inputs_of(spec, units))
    patients = units["patient_id"].to_list()
    index_dates: list[date] = units["index_date"].to_list()
    encounters = units[spec.key].to_list() if spec.key != "index_date" else [None] * len(units)
    for result, patient, index_date, encounter in zip(
        results, patients, index_dates, encounters, strict=True
    ):
        if isinstance(result, Refusal):
            batch.refused += 1
            continue
        batch.scores.append(
            NewScore(
                patient_id=uuid.UUID(patient),
                model=spec.name,
                model_version=model.version,
                score=result.score,
                tier=result.tier,
                factors=result.factors,
                missing_inputs=result.missing_inputs,
                index_date=index_date,
                computed_at=computed_at,
                encounter_id=_uuid(encounter),
            )
        )
    return batch


def tenant_scores(
    client: Client, model: LoadedModel, *, tenant_id: uuid.UUID, computed_at: datetime
) -> BatchScores:
    """Today's scores of one tenant's units, read from the warehouse."""
    units = mart_units(client, model.spec, tenants=[tenant_id], scoring=True)
    return score_units(model, units, computed_at=computed_at)
