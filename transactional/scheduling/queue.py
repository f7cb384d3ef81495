"""The front-desk queue: who has checked in today at a location, and how long they wait."""

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.patients.models import Patient
from transactional.providers.directory import get_location, zone
from transactional.providers.models import Practitioner
from transactional.scheduling.availability import local_instant
from transactional.scheduling.models import Appointment
from transactional.scheduling.types import AppointmentStatus

_IN_QUEUE = (AppointmentStatus.CHECKED_IN.value, AppointmentStatus.IN_PROGRESS.value)


@dataclass(frozen=True)
class QueueEntry:
    """`waiting_minutes` runs from check-in to now, or to the start of the visit once it is
    in progress."""

    appointment_id: uuid.UUID
    patient_id: uuid.UUID
    mrn: str
    patient_name: str
    practitioner_id: uuid.UUID
    practitioner_name: str
    status: str
    starts_at: datetime
    checked_in_at: datetime
    waiting_minutes: int
    in_progress: bool


@dataclass(frozen=True)
class FrontDeskQueue:
    location_id: uuid.UUID
    time_zone: str
    entries: list[QueueEntry]


def front_desk_queue(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    actor: Actor,
    now: datetime | None = None,
) -> FrontDeskQueue:
    """Checked in today (in the location's time zone), in order of check-in."""
    now = now or utcnow()
    location = get_location(session=session, tenant_id=tenant_id, location_id=location_id)
    today = now.astimezone(zone(location.time_zone)).date()
    rows = session.execute(
        select(
            Appointment,
            Patient.mrn,
            Patient.given_name,
            Patient.family_name,
            Practitioner.display_name,
        )
        .join(
            Patient,
            (Patient.tenant_id == Appointment.tenant_id) & (Patient.id == Appointment.patient_id),
        )
        .join(
            Practitioner,
            (Practitioner.tenant_id == Appointment.tenant_id)
            & (Practitioner.id == Appointment.practitioner_id),
        )
        .where(
            Appointment.tenant_id == tenant_id,
            Appointment.location_id == location.id,
            Appointment.status.in_(_IN_QUEUE),
            Appointment.checked_in_at >= local_instant(today, time.min, location.time_zone),
            Appointment.checked_in_at
            < local_instant(today + timedelta(days=1), time.min, location.time_zone),
        )
        .order_by(Appointment.checked_in_at, Appointment.id)
    )
    queue: list[QueueEntry] = []
    for appointment, mrn, given_name, family_name, practitioner_name in rows:
        assert appointment.checked_in_at is not None
        waited = (appointment.started_at or now) - appointment.checked_in_at
        queue.append(
            QueueEntry(
                appointment_id=appointment.id,
                patient_id=appointment.patient_id,
                mrn=mrn,
                patient_name=f"{family_name}, {given_name}",
                practitioner_id=appointment.practitioner_id,
                practitioner_name=practitioner_name,
                status=appointment.status,
                starts_at=appointment.starts_at,
                checked_in_at=appointment.checked_in_at,
                waiting_minutes=max(0, int(waited.total_seconds() // 60)),
                in_progress=appointment.status == AppointmentStatus.IN_PROGRESS.value,
            )
        )
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(
            action="appointment.queue.read",
            resource_type="location",
            resource_id=location.id,
            detail={"returned": len(queue)},
        ),
    )
    return FrontDeskQueue(location.id, location.time_zone, queue)
