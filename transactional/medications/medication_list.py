"""The patient's current medications, and the facts the prescribing check reads."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.medications.checks import ActiveMedication, AllergyFact
from transactional.medications.models import Prescription
from transactional.medications.types import ON_MEDICATION
from transactional.patients.models import Allergy
from transactional.patients.registry import find_patient


def is_current(prescription: Prescription, now: datetime) -> bool:
    """Still being taken: signed, not cancelled or stopped, within its days' supply."""
    if prescription.status not in ON_MEDICATION:
        return False
    if prescription.duration_days is None or prescription.signed_at is None:
        return True
    supply = timedelta(days=prescription.duration_days * (1 + prescription.refills))
    return prescription.signed_at + supply >= now


def current_medications(
    session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID
) -> list[Prescription]:
    rows = session.scalars(
        select(Prescription)
        .where(
            Prescription.tenant_id == tenant_id,
            Prescription.patient_id == patient_id,
            Prescription.status.in_(sorted(ON_MEDICATION)),
        )
        .order_by(Prescription.signed_at.desc())
    )
    now = utcnow()
    return [p for p in rows if is_current(p, now)]


def medication_facts(
    session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID
) -> list[ActiveMedication]:
    """The patient's current medications as the check reads them."""
    return [
        ActiveMedication(
            code=p.medication_code,
            display=p.medication_display,
            ingredients=tuple(p.ingredient_codes),
            prescription_id=p.id,
        )
        for p in current_medications(session, tenant_id, patient_id)
    ]


def allergy_facts(
    session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID
) -> list[AllergyFact]:
    rows = session.scalars(
        select(Allergy).where(
            Allergy.tenant_id == tenant_id,
            Allergy.patient_id == patient_id,
            Allergy.status == "active",
        )
    )
    return [
        AllergyFact(
            system=a.substance_system,
            code=a.substance_code,
            display=a.substance_display,
            severity=a.severity,
            allergy_id=a.id,
        )
        for a in rows
    ]


def active_medications(
    *, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, actor: Actor
) -> list[Prescription]:
    """The patient's current medication list."""
    patient = find_patient(session=session, tenant_id=tenant_id, patient_id=patient_id)
    found = current_medications(session, tenant_id, patient.id)
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(
            action="medication.list",
            resource_type="prescription",
            patient_id=patient.id,
            detail={"count": len(found)},
        ),
    )
    return found
