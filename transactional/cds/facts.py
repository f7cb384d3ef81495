"""Reading the recorded data rules use: vital signs of an encounter, laboratory results of
its patient, and phenotype results, as `Datum`s that say which record each value came from.
Not audited: the caller decides what the read is for and audits that."""

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.cds.types import Datum
from transactional.charting.models import Encounter, Observation
from transactional.orders.models import LabResult

_CURRENT_RESULTS = ("preliminary", "final")


def _observation(row: Observation) -> Datum:
    return Datum(
        system=row.code_system,
        code=row.code,
        effective_at=row.effective_at,
        value=row.value,
        unit=row.unit,
        source_type="observation",
        source_id=row.id,
    )


def _result(row: LabResult) -> Datum:
    return Datum(
        system=row.code_system,
        code=row.code,
        effective_at=row.effective_at,
        value=row.value,
        unit=row.unit,
        answer=row.value_code,
        answer_display=row.value_display,
        source_type="lab_result",
        source_id=row.id,
    )


def encounter_data(
    session: Session,
    tenant_id: uuid.UUID,
    encounter: Encounter,
    codes: Collection[str],
    *,
    results_since: datetime,
) -> list[Datum]:
    """The encounter's final vital signs and the patient's current results since
    `results_since` (a laboratory value drawn just before the visit still counts), for `codes`."""
    if not codes:
        return []
    observations = session.scalars(
        select(Observation).where(
            Observation.tenant_id == tenant_id,
            Observation.encounter_id == encounter.id,
            Observation.status == "final",
            Observation.code.in_(sorted(codes)),
        )
    )
    results = session.scalars(
        select(LabResult).where(
            LabResult.tenant_id == tenant_id,
            LabResult.patient_id == encounter.patient_id,
            LabResult.code.in_(sorted(codes)),
            LabResult.status.in_(_CURRENT_RESULTS),
            LabResult.effective_at >= results_since,
        )
    )
    return [_observation(o) for o in observations] + [_result(r) for r in results]


def result_data(
    session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, codes: Collection[str]
) -> list[Datum]:
    """Every current result of `codes` for the patient (phenotypes do not expire; the rule
    takes the newest)."""
    if not codes:
        return []
    rows = session.scalars(
        select(LabResult).where(
            LabResult.tenant_id == tenant_id,
            LabResult.patient_id == patient_id,
            LabResult.code.in_(sorted(codes)),
            LabResult.status.in_(_CURRENT_RESULTS),
        )
    )
    return [_result(r) for r in rows]
