"""Allergies and intolerances, with the substance coded in RxNorm or SNOMED CT.

Prescribing checks (a later issue) read these, so a substance is always a shipped concept
with its system, never free text.
"""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.patients.models import (
    ALLERGY_CATEGORIES,
    ALLERGY_SEVERITIES,
    ALLERGY_STATUSES,
    Allergy,
)
from transactional.patients.registry import find_patient, writable_patient
from transactional.terminology.catalog import validate

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
SUBSTANCE_SYSTEMS = (RXNORM, SNOMED)
_LIVE = ("active", "inactive")


@dataclass(frozen=True)
class NewAllergy:
    system: str
    code: str
    severity: str
    reaction: str | None = None
    category: str | None = None
    onset_date: date | None = None


def _audit(session: Session, actor: Actor, allergy: Allergy, action: str) -> None:
    record(
        session=session,
        tenant_id=allergy.tenant_id,
        actor=actor,
        entry=AuditEntry(
            action=action,
            resource_type="allergy",
            resource_id=allergy.id,
            patient_id=allergy.patient_id,
        ),
    )


def record_allergy(
    *, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, data: NewAllergy, actor: Actor
) -> Allergy:
    patient = writable_patient(session, tenant_id, patient_id)
    substance = validate(data.system, data.code, allowed=SUBSTANCE_SYSTEMS)
    if data.severity not in ALLERGY_SEVERITIES:
        raise InvalidInput(f"severity must be one of: {', '.join(ALLERGY_SEVERITIES)}")
    category = data.category or ("medication" if substance.system == RXNORM else None)
    if category is not None and category not in ALLERGY_CATEGORIES:
        raise InvalidInput(f"category must be one of: {', '.join(ALLERGY_CATEGORIES)}")
    if data.onset_date is not None and not patient.birth_date <= data.onset_date <= utcnow().date():
        raise InvalidInput("onset_date must be between the birth date and today")
    existing = session.scalar(
        select(Allergy.id).where(
            Allergy.tenant_id == tenant_id,
            Allergy.patient_id == patient.id,
            Allergy.substance_system == substance.system,
            Allergy.substance_code == substance.code,
            Allergy.status.in_(_LIVE),
        )
    )
    if existing is not None:
        raise Conflict("this allergy is already on the patient's record")
    allergy = Allergy(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        patient_id=patient.id,
        substance_system=substance.system,
        substance_code=substance.code,
        substance_display=substance.display,
        category=category,
        severity=data.severity,
        reaction=data.reaction.strip() if data.reaction else None,
        status="active",
        onset_date=data.onset_date,
        recorded_by=actor.user_id,
    )
    session.add(allergy)
    session.flush()
    _audit(session, actor, allergy, "allergy.record")
    return allergy


def allergies_of(*, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID) -> list[Allergy]:
    return list(
        session.scalars(
            select(Allergy)
            .where(Allergy.tenant_id == tenant_id, Allergy.patient_id == patient_id)
            .order_by(Allergy.created_at)
        )
    )


def list_allergies(
    *, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, actor: Actor
) -> list[Allergy]:
    patient = find_patient(session=session, tenant_id=tenant_id, patient_id=patient_id)
    found = allergies_of(session=session, tenant_id=tenant_id, patient_id=patient.id)
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(action="allergy.list", resource_type="allergy", patient_id=patient.id),
    )
    return found


def change_allergy_status(
    *, session: Session, tenant_id: uuid.UUID, allergy_id: uuid.UUID, status: str, actor: Actor
) -> Allergy:
    allergy = session.scalar(
        select(Allergy).where(Allergy.tenant_id == tenant_id, Allergy.id == allergy_id)
    )
    if allergy is None:
        raise NotFound("allergy not found")
    if status not in ALLERGY_STATUSES:
        raise InvalidInput(f"status must be one of: {', '.join(ALLERGY_STATUSES)}")
    if allergy.status == "entered_in_error":
        raise Conflict("an allergy entered in error cannot change status")
    allergy.status = status
    session.flush()
    _audit(session, actor, allergy, "allergy.update")
    return allergy
