"""Which coverage pays for a service: the patient's primary active coverage on its date."""

import uuid
from datetime import date

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from transactional.errors import InvalidInput
from transactional.patients.models import Coverage


def _in_effect(on: date) -> tuple[ColumnElement[bool], ...]:
    return (
        Coverage.status == "active",
        Coverage.period_start <= on,
        (Coverage.period_end.is_(None)) | (Coverage.period_end >= on),
    )


def primary_coverage(
    *, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, on: date
) -> Coverage | None:
    """The active coverage with the lowest priority number in effect on `on`, if any."""
    return session.scalar(
        select(Coverage)
        .where(Coverage.tenant_id == tenant_id, Coverage.patient_id == patient_id)
        .where(*_in_effect(on))
        .order_by(Coverage.priority, Coverage.period_start.desc())
        .limit(1)
    )


def billable_coverage(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    coverage_id: uuid.UUID,
    on: date,
) -> Coverage:
    """A coverage of this patient, active on `on`, that a claim may be sent to."""
    coverage = session.scalar(
        select(Coverage).where(
            Coverage.tenant_id == tenant_id,
            Coverage.id == coverage_id,
            Coverage.patient_id == patient_id,
        )
    )
    if coverage is None:
        raise InvalidInput("coverage_id does not name a coverage of this patient")
    in_effect = coverage.status == "active" and coverage.period_start <= on
    if not in_effect or (coverage.period_end is not None and coverage.period_end < on):
        raise InvalidInput("the coverage was not in effect on the date of service")
    return coverage
