"""Reading appointments and moving them through the workflow. Every read and write of an
appointment is PHI access and appends an audit event naming the patient."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Date, Select, cast, func, select, tuple_
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.errors import InvalidInput, NotFound
from transactional.providers.models import Location
from transactional.scheduling.models import Appointment
from transactional.scheduling.types import Action, AppointmentStatus
from transactional.scheduling.workflow import STAMPS, next_status

MAX_REASON = 500
_DAY = timedelta(days=1)


def audit_appointment(
    session: Session,
    actor: Actor,
    appointment: Appointment,
    action: str,
    detail: dict[str, str | int | bool | None] | None = None,
) -> None:
    """Identifiers and codes only: times and reasons about a patient stay out of the trail."""
    entry = AuditEntry(
        action=action,
        resource_type="appointment",
        resource_id=appointment.id,
        patient_id=appointment.patient_id,
        detail=detail or {},
    )
    record(session=session, tenant_id=appointment.tenant_id, actor=actor, entry=entry)


def clean_text(value: str | None, *, name: str, required: bool = False) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"{name} is required")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"{name} must be at most {MAX_REASON} characters")
    return text or None


def get_appointment(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    appointment_id: uuid.UUID,
    for_update: bool = False,
) -> Appointment:
    query = select(Appointment).where(
        Appointment.tenant_id == tenant_id, Appointment.id == appointment_id
    )
    appointment = session.scalar(query.with_for_update() if for_update else query)
    if appointment is None:
        raise NotFound("appointment not found")
    return appointment


def read_appointment(
    *, session: Session, tenant_id: uuid.UUID, appointment_id: uuid.UUID, actor: Actor
) -> Appointment:
    appointment = get_appointment(
        session=session, tenant_id=tenant_id, appointment_id=appointment_id
    )
    audit_appointment(session, actor, appointment, "appointment.read")
    return appointment


@dataclass(frozen=True)
class AppointmentFilter:
    practitioner_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    on_date: date | None = None  # the local date at the appointment's location
    status: AppointmentStatus | None = None


def list_appointments(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    filters: AppointmentFilter,
    limit: int,
    actor: Actor,
    after_id: uuid.UUID | None = None,
) -> tuple[list[Appointment], uuid.UUID | None]:
    """One page in start-time order, and the cursor of the next page (None on the last).

    `after_id` is the previous page's cursor. Each appointment returned is audited, so a
    patient's access report shows this read too.
    """
    query = select(Appointment).where(Appointment.tenant_id == tenant_id)
    if after_id is not None:
        after = get_appointment(session=session, tenant_id=tenant_id, appointment_id=after_id)
        query = query.where(
            tuple_(Appointment.starts_at, Appointment.id) > tuple_(after.starts_at, after.id)
        )
    if filters.practitioner_id is not None:
        query = query.where(Appointment.practitioner_id == filters.practitioner_id)
    if filters.patient_id is not None:
        query = query.where(Appointment.patient_id == filters.patient_id)
    if filters.status is not None:
        query = query.where(Appointment.status == filters.status.value)
    if filters.on_date is not None:
        query = _on_local_date(query, filters.on_date)
    order = (Appointment.starts_at, Appointment.id)
    found = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    page = found[:limit]
    for appointment in page:
        audit_appointment(session, actor, appointment, "appointment.list")
    return page, page[-1].id if len(found) > limit else None


def _on_local_date(query: Select[Appointment], day: date) -> Select[Appointment]:
    local_date = cast(func.timezone(Location.time_zone, Appointment.starts_at), Date)
    return query.join(
        Location,
        (Location.tenant_id == Appointment.tenant_id) & (Location.id == Appointment.location_id),
    ).where(
        local_date == day,
        # Bounds wide enough for any UTC offset, so the start-time index narrows the scan.
        Appointment.starts_at >= datetime.combine(day - _DAY, time.min, tzinfo=UTC),
        Appointment.starts_at < datetime.combine(day + 2 * _DAY, time.min, tzinfo=UTC),
    )


def change_status(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    appointment_id: uuid.UUID,
    action: Action,
    actor: Actor,
    reason: str | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Confirm, check in, start, complete, cancel (with a reason) or mark a no-show."""
    if action is Action.RESCHEDULE:
        raise ValueError("rescheduling needs a new time: use booking.reschedule")
    cancel_reason = clean_text(reason, name="reason", required=action is Action.CANCEL)
    appointment = get_appointment(
        session=session, tenant_id=tenant_id, appointment_id=appointment_id, for_update=True
    )
    before = appointment.status
    appointment.status = next_status(before, action).value
    setattr(appointment, STAMPS[action], now or utcnow())
    if action is Action.CANCEL:
        appointment.cancel_reason = cancel_reason
    session.flush()
    detail: dict[str, str | int | bool | None] = {"from": before, "to": appointment.status}
    audit_appointment(session, actor, appointment, f"appointment.{action.value}", detail)
    return appointment
