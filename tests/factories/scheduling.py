"""Keyword-only factories for providers, working hours and appointments, written through
the real services."""

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from transactional.audit.trail import SYSTEM
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.patients.models import Patient
from transactional.providers.directory import create_department, create_location
from transactional.providers.models import Department, Location, Practitioner
from transactional.providers.practitioners import NewPractitioner, create_practitioner
from transactional.scheduling.booking import Booking, book
from transactional.scheduling.models import Appointment, ScheduleException, WorkingHours
from transactional.scheduling.types import AppointmentType
from transactional.scheduling.working_hours import (
    NewException,
    WeeklyHours,
    add_exception,
    replace_working_hours,
)
from transactional.tenancy import bind_tenant

VALID_NPI = "1234567893"
WEEKDAYS = (1, 2, 3, 4, 5)


def next_monday(*, weeks_ahead: int = 1) -> date:
    """A Monday that has not begun anywhere on Earth yet, so all its slots are future."""
    earliest = datetime.now(UTC).date() + timedelta(days=2)
    return earliest + timedelta(days=(7 - earliest.weekday()) % 7 + 7 * (weeks_ahead - 1))


def at(day: date, hour: int, minute: int = 0, *, time_zone: str) -> datetime:
    """A wall-clock time at a location as a UTC instant."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


@contextmanager
def tenant_session(*, database: Database, tenant: Tenant) -> Iterator[Session]:
    """One app-role transaction bound to `tenant`, committed on success."""
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        yield session


def make_department(*, database: Database, tenant: Tenant, name: str | None = None) -> Department:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return create_department(
            session=session,
            tenant_id=tenant.id,
            name=name or f"Department {uuid.uuid4().hex[:6]}",
            actor=SYSTEM,
        )


def make_location(
    *,
    database: Database,
    tenant: Tenant,
    name: str | None = None,
    time_zone: str = "America/New_York",
) -> Location:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return create_location(
            session=session,
            tenant_id=tenant.id,
            name=name or f"Clinic room {uuid.uuid4().hex[:6]}",
            time_zone=time_zone,
            actor=SYSTEM,
        )


def make_practitioner(
    *,
    database: Database,
    tenant: Tenant,
    display_name: str | None = None,
    npi: str | None = None,
    specialty_codes: Iterable[str] = ("207Q00000X",),
    department: Department | None = None,
) -> Practitioner:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return create_practitioner(
            session=session,
            tenant_id=tenant.id,
            data=NewPractitioner(
                display_name=display_name or f"Dr. Test {uuid.uuid4().hex[:6]}",
                npi=npi,
                specialty_codes=list(specialty_codes),
                department_id=department.id if department else None,
            ),
            actor=SYSTEM,
        )


def set_working_hours(
    *,
    database: Database,
    tenant: Tenant,
    practitioner: Practitioner,
    location: Location,
    weekdays: Iterable[int] = WEEKDAYS,
    start: time = time(9),
    end: time = time(12),
    slot_minutes: int = 30,
    effective_from: date | None = None,
) -> list[WorkingHours]:
    """Replaces the practitioner's whole weekly template with one window per weekday."""
    windows = [
        WeeklyHours(
            location_id=location.id,
            weekday=weekday,
            start_time=start,
            end_time=end,
            slot_minutes=slot_minutes,
            effective_from=effective_from or datetime.now(UTC).date() - timedelta(days=1),
        )
        for weekday in weekdays
    ]
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return replace_working_hours(
            session=session,
            tenant_id=tenant.id,
            practitioner_id=practitioner.id,
            hours=windows,
            actor=SYSTEM,
        )


def add_schedule_exception(
    *, database: Database, tenant: Tenant, practitioner: Practitioner, data: NewException
) -> ScheduleException:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return add_exception(
            session=session,
            tenant_id=tenant.id,
            practitioner_id=practitioner.id,
            data=data,
            actor=SYSTEM,
        )


def book_appointment(
    *,
    database: Database,
    tenant: Tenant,
    patient: Patient,
    practitioner: Practitioner,
    location: Location,
    starts_at: datetime,
    minutes: int | None = None,
    appointment_type: AppointmentType = AppointmentType.FOLLOW_UP,
) -> Appointment:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return book(
            session=session,
            tenant_id=tenant.id,
            data=Booking(
                patient_id=patient.id,
                practitioner_id=practitioner.id,
                location_id=location.id,
                starts_at=starts_at,
                duration_minutes=minutes,
                appointment_type=appointment_type,
            ),
            actor=SYSTEM,
        )
