"""Payers and patients' insurance coverage (payer, member id, plan, period, priority)."""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.patients.models import (
    COVERAGE_STATUSES,
    PAYER_TYPES,
    RELATIONSHIPS,
    Coverage,
    Payer,
)
from transactional.patients.registry import find_patient, writable_patient


def create_payer(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    name: str,
    payer_type: str,
    external_id: str | None,
    actor: Actor,
) -> Payer:
    name = name.strip()
    if not name:
        raise InvalidInput("payer name must not be empty")
    if payer_type not in PAYER_TYPES:
        raise InvalidInput(f"payer_type must be one of: {', '.join(PAYER_TYPES)}")
    if session.scalar(select(Payer.id).where(Payer.tenant_id == tenant_id, Payer.name == name)):
        raise Conflict("a payer with this name already exists")
    payer = Payer(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        name=name,
        payer_type=payer_type,
        external_id=external_id,
    )
    session.add(payer)
    session.flush()
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(action="payer.create", resource_type="payer", resource_id=payer.id),
    )
    return payer


def list_payers(*, session: Session, tenant_id: uuid.UUID) -> list[Payer]:
    return list(
        session.scalars(select(Payer).where(Payer.tenant_id == tenant_id).order_by(Payer.name))
    )


@dataclass(frozen=True)
class NewCoverage:
    payer_id: uuid.UUID
    member_id: str
    period_start: date
    period_end: date | None = None
    priority: int = 1
    plan_name: str | None = None
    group_number: str | None = None
    subscriber_relationship: str = "self"


def _audit(session: Session, actor: Actor, coverage: Coverage, action: str) -> None:
    record(
        session=session,
        tenant_id=coverage.tenant_id,
        actor=actor,
        entry=AuditEntry(
            action=action,
            resource_type="coverage",
            resource_id=coverage.id,
            patient_id=coverage.patient_id,
        ),
    )


def _overlaps(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    return (a_end is None or b_start <= a_end) and (b_end is None or a_start <= b_end)


def add_coverage(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    data: NewCoverage,
    actor: Actor,
) -> Coverage:
    patient = writable_patient(session, tenant_id, patient_id)
    if not data.member_id.strip():
        raise InvalidInput("member_id must not be empty")
    if data.period_end is not None and data.period_end < data.period_start:
        raise InvalidInput("period_end cannot be before period_start")
    if not 1 <= data.priority <= 9:
        raise InvalidInput("priority must be between 1 (primary) and 9")
    if data.subscriber_relationship not in RELATIONSHIPS:
        raise InvalidInput(f"subscriber_relationship must be one of: {', '.join(RELATIONSHIPS)}")
    if (
        session.scalar(
            select(Payer.id).where(Payer.tenant_id == tenant_id, Payer.id == data.payer_id)
        )
        is None
    ):
        raise InvalidInput("payer_id does not name a payer of this tenant")
    for other in coverages_of(session=session, tenant_id=tenant_id, patient_id=patient.id):
        if (
            other.status == "active"
            and other.priority == data.priority
            and _overlaps(other.period_start, other.period_end, data.period_start, data.period_end)
        ):
            raise Conflict(f"another active coverage already has priority {data.priority} then")
    coverage = Coverage(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        patient_id=patient.id,
        payer_id=data.payer_id,
        member_id=data.member_id.strip(),
        group_number=data.group_number,
        plan_name=data.plan_name,
        subscriber_relationship=data.subscriber_relationship,
        period_start=data.period_start,
        period_end=data.period_end,
        priority=data.priority,
        status="active",
    )
    session.add(coverage)
    session.flush()
    _audit(session, actor, coverage, "coverage.create")
    return coverage


def coverages_of(
    *, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID
) -> list[Coverage]:
    return list(
        session.scalars(
            select(Coverage)
            .where(Coverage.tenant_id == tenant_id, Coverage.patient_id == patient_id)
            .order_by(Coverage.period_start.desc(), Coverage.priority)
        )
    )


def list_coverages(
    *, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, actor: Actor
) -> list[Coverage]:
    patient = find_patient(session=session, tenant_id=tenant_id, patient_id=patient_id)
    coverages = coverages_of(session=session, tenant_id=tenant_id, patient_id=patient.id)
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(action="coverage.list", resource_type="coverage", patient_id=patient.id),
    )
    return coverages


def end_coverage(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    coverage_id: uuid.UUID,
    period_end: date | None,
    status: str,
    actor: Actor,
) -> Coverage:
    coverage = session.scalar(
        select(Coverage).where(Coverage.tenant_id == tenant_id, Coverage.id == coverage_id)
    )
    if coverage is None:
        raise NotFound("coverage not found")
    if status not in COVERAGE_STATUSES:
        raise InvalidInput(f"status must be one of: {', '.join(COVERAGE_STATUSES)}")
    if period_end is not None and period_end < coverage.period_start:
        raise InvalidInput("period_end cannot be before period_start")
    coverage.period_end = period_end if period_end is not None else coverage.period_end
    coverage.status = status
    session.flush()
    _audit(session, actor, coverage, "coverage.update")
    return coverage
