"""Encounters: opening, admission and discharge, and their status workflow."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.charting.models import ENCOUNTER_CLASSES, Encounter
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.patients.registry import find_patient, writable_patient
from transactional.providers.models import Location, Practitioner
from transactional.scheduling.models import Appointment

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: Mapping[str, tuple[frozenset[str], str]] = MappingProxyType(
    {
        "finish": (frozenset({"in_progress"}), "finished"),
        "cancel": (frozenset({"planned", "in_progress"}), "cancelled"),
        "enter_in_error": (frozenset({"planned", "in_progress", "finished"}), "entered_in_error"),
    }
)
CHARTABLE = frozenset({"planned", "in_progress", "finished"})
_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class NewEncounter:
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    encounter_class: str = "ambulatory"
    location_id: uuid.UUID | None = None
    appointment_id: uuid.UUID | None = None
    reason: str | None = None
    start_at: datetime | None = None
    admit_source: str | None = None


def audit(session: Session, actor: Actor, encounter: Encounter, action: str, **detail: str) -> None:
    record(
        session=session,
        tenant_id=encounter.tenant_id,
        actor=actor,
        entry=AuditEntry(
            action=action,
            resource_type="encounter",
            resource_id=encounter.id,
            patient_id=encounter.patient_id,
            detail=detail,
        ),
    )


def _exists(
    session: Session,
    model: type[Practitioner] | type[Location],
    tenant_id: uuid.UUID,
    row_id: uuid.UUID,
) -> bool:
    return (
        session.scalar(select(model.id).where(model.tenant_id == tenant_id, model.id == row_id))
        is not None
    )


def open_encounter(
    *, session: Session, tenant_id: uuid.UUID, data: NewEncounter, actor: Actor
) -> Encounter:
    """Start an encounter now (or at `start_at`); an inpatient one is an admission."""
    patient = writable_patient(session, tenant_id, data.patient_id)
    if data.encounter_class not in ENCOUNTER_CLASSES:
        raise InvalidInput(f"encounter_class must be one of: {', '.join(ENCOUNTER_CLASSES)}")
    if not _exists(session, Practitioner, tenant_id, data.practitioner_id):
        raise InvalidInput("practitioner_id does not name a practitioner of this tenant")
    if data.location_id is not None and not _exists(session, Location, tenant_id, data.location_id):
        raise InvalidInput("location_id does not name a location of this tenant")
    now = utcnow()
    start = data.start_at or now
    if start > now + _CLOCK_SKEW:
        raise InvalidInput("an encounter cannot start in the future")
    if start.date() < patient.birth_date:
        raise InvalidInput("an encounter cannot start before the patient was born")
    if data.appointment_id is not None:
        appointment = session.scalar(
            select(Appointment).where(
                Appointment.tenant_id == tenant_id, Appointment.id == data.appointment_id
            )
        )
        if appointment is None or appointment.patient_id != patient.id:
            raise InvalidInput("appointment_id does not name an appointment of this patient")
        taken = session.scalar(
            select(Encounter.id).where(Encounter.appointment_id == appointment.id)
        )
        if taken is not None:
            raise Conflict("this appointment already has an encounter")
    inpatient = data.encounter_class == "inpatient"
    encounter = Encounter(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        patient_id=patient.id,
        practitioner_id=data.practitioner_id,
        location_id=data.location_id,
        appointment_id=data.appointment_id,
        encounter_class=data.encounter_class,
        reason=data.reason,
        status="in_progress",
        start_at=start,
        admitted_at=start if inpatient else None,
        admit_source=data.admit_source if inpatient else None,
    )
    session.add(encounter)
    session.flush()
    audit(session, actor, encounter, "encounter.admit" if inpatient else "encounter.open")
    return encounter


def find_encounter(*, session: Session, tenant_id: uuid.UUID, encounter_id: uuid.UUID) -> Encounter:
    encounter = session.scalar(
        select(Encounter).where(Encounter.tenant_id == tenant_id, Encounter.id == encounter_id)
    )
    if encounter is None:
        raise NotFound("encounter not found")
    return encounter


def chartable_encounter(
    *, session: Session, tenant_id: uuid.UUID, encounter_id: uuid.UUID
) -> Encounter:
    encounter = find_encounter(session=session, tenant_id=tenant_id, encounter_id=encounter_id)
    if encounter.status not in CHARTABLE:
        raise Conflict(f"cannot chart on an encounter that is {encounter.status}")
    return encounter


def read_encounter(
    *, session: Session, tenant_id: uuid.UUID, encounter_id: uuid.UUID, actor: Actor
) -> Encounter:
    encounter = find_encounter(session=session, tenant_id=tenant_id, encounter_id=encounter_id)
    audit(session, actor, encounter, "encounter.read")
    return encounter


def list_encounters(
    *, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, actor: Actor
) -> list[Encounter]:
    patient = find_patient(session=session, tenant_id=tenant_id, patient_id=patient_id)
    encounters = list(
        session.scalars(
            select(Encounter)
            .where(Encounter.tenant_id == tenant_id, Encounter.patient_id == patient.id)
            .order_by(Encounter.start_at.desc())
        )
    )
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(action="encounter.list", resource_type="encounter", patient_id=patient.id),
    )
    return encounters


def transition(
    *, session: Session, tenant_id: uuid.UUID, encounter_id: uuid.UUID, action: str, actor: Actor
) -> Encounter:
    """finish, cancel or enter_in_error; an inpatient stay finishes only by discharge."""
    encounter = find_encounter(session=session, tenant_id=tenant_id, encounter_id=encounter_id)
    sources, target = TRANSITIONS[action]
    if encounter.status not in sources:
        raise Conflict(f"cannot {action.replace('_', ' ')} an encounter that is {encounter.status}")
    if action == "finish" and encounter.encounter_class == "inpatient":
        raise Conflict("an inpatient stay ends with a discharge")
    encounter.status = target
    if target == "finished":
        encounter.end_at = max(utcnow(), encounter.start_at)
    session.flush()
    audit(session, actor, encounter, f"encounter.{action}")
    return encounter


def discharge(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    encounter_id: uuid.UUID,
    disposition: str,
    actor: Actor,
    at: datetime | None = None,
) -> Encounter:
    encounter = find_encounter(session=session, tenant_id=tenant_id, encounter_id=encounter_id)
    if encounter.encounter_class != "inpatient" or encounter.admitted_at is None:
        raise Conflict("only an admitted inpatient can be discharged")
    if encounter.status != "in_progress":
        raise Conflict(f"cannot discharge an encounter that is {encounter.status}")
    when = at or utcnow()
    if when < encounter.admitted_at:
        raise InvalidInput("discharge cannot be before admission")
    if when > utcnow() + _CLOCK_SKEW:
        raise InvalidInput("discharge cannot be in the future")
    if not disposition.strip():
        raise InvalidInput("discharge needs a disposition")
    encounter.discharged_at = when
    encounter.end_at = when
    encounter.discharge_disposition = disposition.strip()
    encounter.status = "finished"
    session.flush()
    audit(session, actor, encounter, "encounter.discharge")
    return encounter
