"""When a practitioner can be booked: weekly windows and extra hours, minus time off and
appointments that hold their time, never in the past.

Weekly windows are wall-clock times at a location, turned into instants with the location's
time zone for each date, so they follow daylight-saving changes; slots step in real minutes.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from transactional.errors import InvalidInput
from transactional.providers.directory import get_location, zone
from transactional.providers.models import Location
from transactional.providers.practitioners import get_practitioner
from transactional.scheduling.models import Appointment, ScheduleException, WorkingHours
from transactional.scheduling.types import RELEASED, ExceptionKind

MAX_RANGE_DAYS = 62
_DAY = timedelta(days=1)


def local_instant(day: date, at: time, time_zone: str) -> datetime:
    return datetime.combine(day, at, tzinfo=zone(time_zone)).astimezone(UTC)


def to_utc(value: datetime, time_zone: str | None) -> datetime:
    """Aware values are instants; naive ones are wall-clock times in `time_zone`."""
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    if time_zone is None:
        raise InvalidInput("times need a UTC offset when no location gives a time zone")
    return value.replace(tzinfo=zone(time_zone)).astimezone(UTC)


@dataclass(frozen=True)
class Window:
    location_id: uuid.UUID
    time_zone: str
    starts_at: datetime
    ends_at: datetime
    slot_minutes: int


@dataclass(frozen=True)
class Slot:
    location_id: uuid.UUID
    time_zone: str
    starts_at: datetime
    ends_at: datetime

    @property
    def local_starts_at(self) -> datetime:
        return self.starts_at.astimezone(zone(self.time_zone))

    @property
    def local_ends_at(self) -> datetime:
        return self.ends_at.astimezone(zone(self.time_zone))


@dataclass(frozen=True)
class TimeOff:
    location_id: uuid.UUID | None
    starts_at: datetime | None
    ends_at: datetime | None
    first_day: date | None
    last_day: date | None

    def overlaps(
        self, location_id: uuid.UUID, time_zone: str, starts_at: datetime, ends_at: datetime
    ) -> bool:
        if self.location_id is not None and self.location_id != location_id:
            return False
        if self.starts_at is not None and self.ends_at is not None:
            low, high = self.starts_at, self.ends_at
        else:
            assert self.first_day is not None and self.last_day is not None
            low = local_instant(self.first_day, time.min, time_zone)
            high = local_instant(self.last_day + _DAY, time.min, time_zone)
        return low < ends_at and starts_at < high


def windows(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    practitioner_id: uuid.UUID,
    location_id: uuid.UUID | None,
    since: datetime,
    until: datetime,
) -> list[Window]:
    """Working windows at active locations that overlap [since, until)."""
    joined = and_(Location.tenant_id == tenant_id, Location.is_active.is_(True))
    first_day, last_day = since.date() - _DAY, until.date() + _DAY
    templates = (
        select(WorkingHours, Location.time_zone)
        .join(Location, joined & (Location.id == WorkingHours.location_id))
        .where(
            WorkingHours.tenant_id == tenant_id,
            WorkingHours.practitioner_id == practitioner_id,
            WorkingHours.effective_from <= last_day,
            or_(WorkingHours.effective_to.is_(None), WorkingHours.effective_to >= first_day),
        )
    )
    extras = (
        select(ScheduleException, Location.time_zone)
        .join(Location, joined & (Location.id == ScheduleException.location_id))
        .where(
            ScheduleException.tenant_id == tenant_id,
            ScheduleException.practitioner_id == practitioner_id,
            ScheduleException.kind == ExceptionKind.EXTRA_HOURS.value,
            ScheduleException.starts_at < until,
            ScheduleException.ends_at > since,
        )
    )
    if location_id is not None:
        templates = templates.where(WorkingHours.location_id == location_id)
        extras = extras.where(ScheduleException.location_id == location_id)
    found: list[Window] = []
    for hours, time_zone in session.execute(templates):
        day = max(first_day, hours.effective_from)
        end = min(last_day, hours.effective_to or last_day)
        day += timedelta(days=(hours.weekday - day.isoweekday()) % 7)
        while day <= end:
            found.append(
                Window(
                    location_id=hours.location_id,
                    time_zone=time_zone,
                    starts_at=local_instant(day, hours.start_time, time_zone),
                    ends_at=local_instant(day, hours.end_time, time_zone),
                    slot_minutes=hours.slot_minutes,
                )
            )
            day += timedelta(days=7)
    for extra, time_zone in session.execute(extras):
        assert extra.location_id and extra.starts_at and extra.ends_at and extra.slot_minutes
        found.append(
            Window(extra.location_id, time_zone, extra.starts_at, extra.ends_at, extra.slot_minutes)
        )
    return [window for window in found if window.starts_at < until and window.ends_at > since]


def time_off(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    practitioner_id: uuid.UUID,
    since: datetime,
    until: datetime,
) -> list[TimeOff]:
    rows = session.scalars(
        select(ScheduleException).where(
            ScheduleException.tenant_id == tenant_id,
            ScheduleException.practitioner_id == practitioner_id,
            ScheduleException.kind == ExceptionKind.UNAVAILABLE.value,
            or_(
                and_(ScheduleException.starts_at < until, ScheduleException.ends_at > since),
                and_(
                    ScheduleException.first_day <= until.date() + _DAY,
                    ScheduleException.last_day >= since.date() - _DAY,
                ),
            ),
        )
    )
    return [
        TimeOff(row.location_id, row.starts_at, row.ends_at, row.first_day, row.last_day)
        for row in rows
    ]


def booked(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    practitioner_id: uuid.UUID,
    since: datetime,
    until: datetime,
) -> list[tuple[datetime, datetime]]:
    """Time held by appointments, at any location: a practitioner is in one place at once."""
    rows = session.execute(
        select(Appointment.starts_at, Appointment.ends_at).where(
            Appointment.tenant_id == tenant_id,
            Appointment.practitioner_id == practitioner_id,
            Appointment.status.not_in([status.value for status in RELEASED]),
            Appointment.starts_at < until,
            Appointment.ends_at > since,
        )
    )
    return list(rows)


def _cut(window: Window) -> Iterator[Slot]:
    step = timedelta(minutes=window.slot_minutes)
    start = window.starts_at
    while start + step <= window.ends_at:
        yield Slot(window.location_id, window.time_zone, start, start + step)
        start += step


def free_slots(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    practitioner_id: uuid.UUID,
    first_day: date,
    last_day: date,
    now: datetime,
    location_id: uuid.UUID | None = None,
) -> list[Slot]:
    """Free slots whose local start date (at their location) is in [first_day, last_day]."""
    if last_day < first_day or (last_day - first_day).days >= MAX_RANGE_DAYS:
        raise InvalidInput(
            f"the date range must be 1 to {MAX_RANGE_DAYS} days, end not before start"
        )
    practitioner = get_practitioner(
        session=session, tenant_id=tenant_id, practitioner_id=practitioner_id
    )
    if location_id is not None:
        get_location(session=session, tenant_id=tenant_id, location_id=location_id)
    if not practitioner.is_active:
        return []
    since = max(datetime.combine(first_day - _DAY, time.min, tzinfo=UTC), now)
    until = datetime.combine(last_day + 2 * _DAY, time.min, tzinfo=UTC)
    scope = {"tenant_id": tenant_id, "practitioner_id": practitioner_id}
    off = time_off(session, since=since, until=until, **scope)
    busy = booked(session, since=since, until=until, **scope)

    def is_free(slot: Slot) -> bool:
        where = (slot.location_id, slot.time_zone, slot.starts_at, slot.ends_at)
        return (
            slot.starts_at >= now
            and first_day <= slot.local_starts_at.date() <= last_day
            and not any(block.overlaps(*where) for block in off)
            and not any(low < slot.ends_at and slot.starts_at < high for low, high in busy)
        )

    found = windows(session, location_id=location_id, since=since, until=until, **scope)
    slots = {slot for window in found for slot in _cut(window) if is_free(slot)}
    return sorted(slots, key=lambda slot: (slot.starts_at, str(slot.location_id)))
