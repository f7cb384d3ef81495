"""Booking and rescheduling.

The requested time must lie in the practitioner's working hours at the location and clear
of time off. Whether it is still free is decided by the database: the exclusion constraint
on appointments lets exactly one of several concurrent bookings of the same time commit.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg.errors import ExclusionViolation
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor
from transactional.base import utcnow
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.patients.models import Patient
from transactional.providers.directory import get_location
from transactional.providers.models import Location
from transactional.providers.practitioners import get_practitioner
from transactional.scheduling.appointments import audit_appointment, clean_text, get_appointment
from transactional.scheduling.availability import Window, time_off, to_utc, windows
from transactional.scheduling.models import Appointment
from transactional.scheduling.types import Action, AppointmentStatus, AppointmentType
from transactional.scheduling.workflow import next_status

DOUBLE_BOOKED = "the practitioner already has an appointment that overlaps this time"
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Booking:
    """Naive times are wall-clock times at the location. No end and no duration means one
    slot of the working hours the start falls in."""

    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    location_id: uuid.UUID
    starts_at: datetime
    appointment_type: AppointmentType
    ends_at: datetime | None = None
    duration_minutes: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class NewTime:
    """No end and no duration keeps the appointment's length; no location keeps its place."""

    starts_at: datetime
    ends_at: datetime | None = None
    duration_minutes: int | None = None
    location_id: uuid.UUID | None = None


def _bookable_patient(session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID) -> None:
    patient = session.scalar(
        select(Patient).where(Patient.tenant_id == tenant_id, Patient.id == patient_id)
    )
    if patient is None:
        raise NotFound("patient not found")
    if patient.merged_into_id is not None:
        raise Conflict(f"this patient record was merged into patient {patient.merged_into_id}")
    if patient.is_deleted:
        raise Conflict("this patient record is deleted")


def _place(
    session: Session, tenant_id: uuid.UUID, practitioner_id: uuid.UUID, location_id: uuid.UUID
) -> Location:
    practitioner = get_practitioner(
        session=session, tenant_id=tenant_id, practitioner_id=practitioner_id
    )
    location = get_location(session=session, tenant_id=tenant_id, location_id=location_id)
    if not practitioner.is_active:
        raise Conflict("the practitioner is not active")
    if not location.is_active:
        raise Conflict("the location is not active")
    return location


def _requested_end(
    starts_at: datetime, ends_at: datetime | None, minutes: int | None, time_zone: str
) -> datetime | None:
    if ends_at is not None and minutes is not None:
        raise InvalidInput("give ends_at or duration_minutes, not both")
    if minutes is not None:
        if not 5 <= minutes <= 480:
            raise InvalidInput("duration_minutes must be 5 to 480")
        return starts_at + timedelta(minutes=minutes)
    return to_utc(ends_at, time_zone) if ends_at is not None else None


def check_fits(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    practitioner_id: uuid.UUID,
    location: Location,
    starts_at: datetime,
    ends_at: datetime | None,
    now: datetime,
) -> datetime:
    """The appointment's end, once its time is known to be bookable; else `InvalidInput`."""
    if starts_at < now:
        raise InvalidInput("appointments cannot start in the past")
    if ends_at is not None and ends_at <= starts_at:
        raise InvalidInput("the appointment must end after it starts")
    scope = {"tenant_id": tenant_id, "practitioner_id": practitioner_id}
    found = windows(
        session,
        location_id=location.id,
        since=starts_at - _DAY,
        until=(ends_at or starts_at) + _DAY,
        **scope,
    )
    around = [window for window in found if window.starts_at <= starts_at < window.ends_at]
    if not around:
        raise InvalidInput("the practitioner does not work at this location at that time")
    end = ends_at or starts_at + timedelta(minutes=around[0].slot_minutes)
    if not any(low <= starts_at and end <= high for low, high in _merged(found)):
        raise InvalidInput("the appointment does not fit in the practitioner's working hours")
    for off in time_off(session, since=starts_at, until=end, **scope):
        if off.overlaps(location.id, location.time_zone, starts_at, end):
            raise InvalidInput("the practitioner is unavailable at that time")
    return end


def _merged(found: list[Window]) -> list[tuple[datetime, datetime]]:
    spans: list[tuple[datetime, datetime]] = []
    for low, high in sorted((window.starts_at, window.ends_at) for window in found):
        if spans and low <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(high, spans[-1][1]))
        else:
            spans.append((low, high))
    return spans


@contextmanager
def _exclusive_time(session: Session) -> Iterator[None]:
    """Write inside a SAVEPOINT, so a lost race leaves the caller's transaction usable."""
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError as error:
        if isinstance(error.orig, ExclusionViolation):
            raise Conflict(DOUBLE_BOOKED) from None
        raise


def book(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    data: Booking,
    actor: Actor,
    now: datetime | None = None,
) -> Appointment:
    _bookable_patient(session, tenant_id, data.patient_id)
    location = _place(session, tenant_id, data.practitioner_id, data.location_id)
    starts_at = to_utc(data.starts_at, location.time_zone)
    requested_end = _requested_end(
        starts_at, data.ends_at, data.duration_minutes, location.time_zone
    )
    ends_at = check_fits(
        session,
        tenant_id=tenant_id,
        practitioner_id=data.practitioner_id,
        location=location,
        starts_at=starts_at,
        ends_at=requested_end,
        now=now or utcnow(),
    )
    appointment = Appointment(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        patient_id=data.patient_id,
        practitioner_id=data.practitioner_id,
        location_id=location.id,
        starts_at=starts_at,
        ends_at=ends_at,
        status=AppointmentStatus.SCHEDULED.value,
        appointment_type=AppointmentType(data.appointment_type).value,
        reason=clean_text(data.reason, name="reason"),
    )
    with _exclusive_time(session):
        session.add(appointment)
    audit_appointment(
        session, actor, appointment, "appointment.book", {"type": appointment.appointment_type}
    )
    return appointment


def reschedule(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    appointment_id: uuid.UUID,
    new: NewTime,
    actor: Actor,
    now: datetime | None = None,
) -> Appointment:
    """Move an open appointment; on any refusal the appointment keeps its time."""
    appointment = get_appointment(
        session=session, tenant_id=tenant_id, appointment_id=appointment_id, for_update=True
    )
    status = next_status(appointment.status, Action.RESCHEDULE)
    _bookable_patient(session, tenant_id, appointment.patient_id)
    location_id = new.location_id or appointment.location_id
    location = _place(session, tenant_id, appointment.practitioner_id, location_id)
    starts_at = to_utc(new.starts_at, location.time_zone)
    requested_end = _requested_end(
        starts_at, new.ends_at, new.duration_minutes, location.time_zone
    ) or starts_at + (appointment.ends_at - appointment.starts_at)
    ends_at = check_fits(
        session,
        tenant_id=tenant_id,
        practitioner_id=appointment.practitioner_id,
        location=location,
        starts_at=starts_at,
        ends_at=requested_end,
        now=now or utcnow(),
    )
    moved_location = location.id != appointment.location_id
    with _exclusive_time(session):
        appointment.starts_at, appointment.ends_at = starts_at, ends_at
        appointment.location_id = location.id
        appointment.status = status.value
        appointment.confirmed_at = None
    audit_appointment(
        session, actor, appointment, "appointment.reschedule", {"moved_location": moved_location}
    )
    return appointment
