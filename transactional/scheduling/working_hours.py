"""A practitioner's weekly working hours and the exceptions to them (time off, extra hours)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor
from transactional.base import utcnow
from transactional.errors import InvalidInput
from transactional.providers.directory import audit_change, get_location
from transactional.providers.practitioners import get_practitioner
from transactional.scheduling.availability import to_utc
from transactional.scheduling.models import ScheduleException, WorkingHours
from transactional.scheduling.types import ExceptionKind

MAX_WINDOWS = 100


@dataclass(frozen=True)
class WeeklyHours:
    """Local wall-clock times at the location; `weekday` is ISO (1 = Monday ... 7 = Sunday).
    `effective_from` defaults to today; `effective_to` (inclusive) to open-ended."""

    location_id: uuid.UUID
    weekday: int
    start_time: time
    end_time: time
    slot_minutes: int
    effective_from: date | None = None
    effective_to: date | None = None


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def _check_slot_minutes(slot_minutes: int, span_minutes: float) -> None:
    if not 5 <= slot_minutes <= 480:
        raise InvalidInput("slot_minutes must be 5 to 480")
    if slot_minutes > span_minutes:
        raise InvalidInput("a window must be at least one slot long")


def _check_window(hours: WeeklyHours, effective_from: date) -> None:
    if not 1 <= hours.weekday <= 7:
        raise InvalidInput("weekday must be 1 (Monday) to 7 (Sunday)")
    if hours.start_time.tzinfo is not None or hours.end_time.tzinfo is not None:
        raise InvalidInput("working hours are local times at the location, without an offset")
    if hours.end_time <= hours.start_time:
        raise InvalidInput("end_time must be after start_time")
    _check_slot_minutes(hours.slot_minutes, _minutes(hours.end_time) - _minutes(hours.start_time))
    if hours.effective_to is not None and hours.effective_to < effective_from:
        raise InvalidInput("effective_to must not be before effective_from")


def _overlap(a: WorkingHours, b: WorkingHours) -> bool:
    """Compared in local time: a practitioner works in one place at once."""
    if a.weekday != b.weekday:
        return False
    a_to, b_to = a.effective_to or date.max, b.effective_to or date.max
    if a.effective_from > b_to or b.effective_from > a_to:
        return False
    return a.start_time < b.end_time and b.start_time < a.end_time


def replace_working_hours(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    practitioner_id: uuid.UUID,
    hours: Sequence[WeeklyHours],
    actor: Actor,
) -> list[WorkingHours]:
    """Replace the whole weekly template. Booked appointments are left where they are."""
    get_practitioner(
        session=session, tenant_id=tenant_id, practitioner_id=practitioner_id, for_update=True
    )
    if len(hours) > MAX_WINDOWS:
        raise InvalidInput(f"at most {MAX_WINDOWS} weekly windows")
    today = utcnow().date()
    rows = []
    for window in hours:
        effective_from = window.effective_from or today
        _check_window(window, effective_from)
        get_location(session=session, tenant_id=tenant_id, location_id=window.location_id)
        rows.append(
            WorkingHours(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                practitioner_id=practitioner_id,
                location_id=window.location_id,
                weekday=window.weekday,
                start_time=window.start_time,
                end_time=window.end_time,
                slot_minutes=window.slot_minutes,
                effective_from=effective_from,
                effective_to=window.effective_to,
            )
        )
    for index, row in enumerate(rows):
        if any(_overlap(row, other) for other in rows[index + 1 :]):
            raise InvalidInput(f"working hours overlap on weekday {row.weekday}")
    session.execute(
        delete(WorkingHours).where(
            WorkingHours.tenant_id == tenant_id, WorkingHours.practitioner_id == practitioner_id
        )
    )
    session.add_all(rows)
    session.flush()
    audit_change(
        session,
        actor,
        tenant_id=tenant_id,
        action="practitioner.working_hours.replace",
        resource_id=practitioner_id,
        detail={"windows": len(rows)},
    )
    return list_working_hours(session=session, tenant_id=tenant_id, practitioner_id=practitioner_id)


def list_working_hours(
    *, session: Session, tenant_id: uuid.UUID, practitioner_id: uuid.UUID
) -> list[WorkingHours]:
    get_practitioner(session=session, tenant_id=tenant_id, practitioner_id=practitioner_id)
    query = select(WorkingHours).where(
        WorkingHours.tenant_id == tenant_id, WorkingHours.practitioner_id == practitioner_id
    )
    order = (WorkingHours.weekday, WorkingHours.start_time, WorkingHours.effective_from)
    return list(session.scalars(query.order_by(*order)))


@dataclass(frozen=True)
class NewException:
    """Either whole local days (`first_day`..`last_day`) or two times (`starts_at`, `ends_at`;
    naive ones are local to the location). Extra hours need times, a location and a slot
    length; time off without a location applies everywhere."""

    kind: ExceptionKind
    location_id: uuid.UUID | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    first_day: date | None = None
    last_day: date | None = None
    slot_minutes: int | None = None
    note: str | None = None


def _range(data: NewException, time_zone: str | None) -> tuple[datetime, datetime] | None:
    timed = data.starts_at is not None or data.ends_at is not None
    daily = data.first_day is not None or data.last_day is not None
    if timed == daily:
        raise InvalidInput("give either starts_at and ends_at, or first_day and last_day")
    if daily:
        if data.first_day is None or data.last_day is None or data.last_day < data.first_day:
            raise InvalidInput("first_day and last_day are both needed, in order")
        return None
    if data.starts_at is None or data.ends_at is None:
        raise InvalidInput("starts_at and ends_at are both needed")
    starts_at, ends_at = to_utc(data.starts_at, time_zone), to_utc(data.ends_at, time_zone)
    if ends_at <= starts_at:
        raise InvalidInput("ends_at must be after starts_at")
    return starts_at, ends_at


def add_exception(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    practitioner_id: uuid.UUID,
    data: NewException,
    actor: Actor,
) -> ScheduleException:
    get_practitioner(session=session, tenant_id=tenant_id, practitioner_id=practitioner_id)
    time_zone = None
    if data.location_id is not None:
        location = get_location(session=session, tenant_id=tenant_id, location_id=data.location_id)
        time_zone = location.time_zone
    timed = _range(data, time_zone)
    if data.kind is ExceptionKind.EXTRA_HOURS:
        if data.location_id is None or timed is None or data.slot_minutes is None:
            raise InvalidInput("extra hours need a location, starts_at, ends_at and slot_minutes")
        _check_slot_minutes(data.slot_minutes, (timed[1] - timed[0]).total_seconds() / 60)
    elif data.slot_minutes is not None:
        raise InvalidInput("slot_minutes applies to extra hours only")
    note = (data.note or "").strip() or None
    if note is not None and len(note) > 200:
        raise InvalidInput("note must be at most 200 characters")
    exception = ScheduleException(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        practitioner_id=practitioner_id,
        location_id=data.location_id,
        kind=data.kind.value,
        starts_at=timed[0] if timed else None,
        ends_at=timed[1] if timed else None,
        first_day=None if timed else data.first_day,
        last_day=None if timed else data.last_day,
        slot_minutes=data.slot_minutes,
        note=note,
    )
    session.add(exception)
    session.flush()
    audit_change(
        session,
        actor,
        tenant_id=tenant_id,
        action="practitioner.exception.create",
        resource_id=practitioner_id,
        detail={"kind": exception.kind, "exception_id": str(exception.id)},
    )
    return exception


def list_exceptions(
    *, session: Session, tenant_id: uuid.UUID, practitioner_id: uuid.UUID
) -> list[ScheduleException]:
    get_practitioner(session=session, tenant_id=tenant_id, practitioner_id=practitioner_id)
    query = select(ScheduleException).where(
        ScheduleException.tenant_id == tenant_id,
        ScheduleException.practitioner_id == practitioner_id,
    )
    return list(session.scalars(query.order_by(ScheduleException.created_at)))
