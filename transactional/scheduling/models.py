"""Weekly working hours, exceptions to them, and appointments.

Working hours are local wall-clock times at a location; appointments and timed exceptions
are instants (`timestamptz`, UTC).
"""

import uuid
from collections.abc import Iterable
from datetime import date, datetime, time

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    SmallInteger,
    String,
    Time,
    func,
    literal_column,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from transactional.base import Base, TenantOwned, utcnow
from transactional.patients.models import PatientOwned
from transactional.scheduling.types import (
    RELEASED,
    AppointmentStatus,
    AppointmentType,
    ExceptionKind,
)


def _listed(values: Iterable[str]) -> str:
    return ", ".join(repr(str(value)) for value in values)


def _in(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({_listed(values)})"


def _practitioner_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "practitioner_id"], ["practitioners.tenant_id", "practitioners.id"]
    )


def _location_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "location_id"], ["locations.tenant_id", "locations.id"]
    )


class WorkingHours(TenantOwned, Base):
    """One weekly window, e.g. Mondays 09:00-12:00 at a location, cut into equal slots."""

    __tablename__ = "working_hours"
    __table_args__ = (
        _practitioner_fk(),
        _location_fk(),
        CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday_iso"),
        CheckConstraint("end_time > start_time", name="window_ordered"),
        CheckConstraint("slot_minutes BETWEEN 5 AND 480", name="slot_minutes_range"),
        CheckConstraint(
            "effective_to IS NULL OR effective_to >= effective_from", name="effective_ordered"
        ),
        Index("ix_working_hours_tenant_id_practitioner_id", "tenant_id", "practitioner_id"),
    )

    practitioner_id: Mapped[uuid.UUID]
    location_id: Mapped[uuid.UUID]
    weekday: Mapped[int] = mapped_column(SmallInteger)  # ISO: 1 = Monday ... 7 = Sunday
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(SmallInteger)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)  # inclusive; None = open-ended
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduleException(TenantOwned, Base):
    """Time off (leave, meetings) or extra hours.

    A range is either whole local days (`first_day`..`last_day`, inclusive, in the time zone
    of whichever location a slot is at) or two instants. Without a location, time off applies
    at every location; extra hours always name their location and slot length.
    """

    __tablename__ = "schedule_exceptions"
    __table_args__ = (
        _practitioner_fk(),
        _location_fk(),
        CheckConstraint(_in("kind", ExceptionKind), name="kind_known"),
        CheckConstraint(
            "(starts_at IS NOT NULL AND ends_at IS NOT NULL AND ends_at > starts_at"
            " AND first_day IS NULL AND last_day IS NULL)"
            " OR (starts_at IS NULL AND ends_at IS NULL"
            " AND first_day IS NOT NULL AND last_day IS NOT NULL AND last_day >= first_day)",
            name="one_range",
        ),
        CheckConstraint(
            "kind <> 'extra_hours' OR (location_id IS NOT NULL AND starts_at IS NOT NULL"
            " AND slot_minutes IS NOT NULL)",
            name="extra_hours_complete",
        ),
        CheckConstraint("slot_minutes BETWEEN 5 AND 480", name="slot_minutes_range"),
        Index("ix_schedule_exceptions_tenant_id_practitioner_id", "tenant_id", "practitioner_id"),
    )

    practitioner_id: Mapped[uuid.UUID]
    location_id: Mapped[uuid.UUID | None]
    kind: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    first_day: Mapped[date | None] = mapped_column(Date)
    last_day: Mapped[date | None] = mapped_column(Date)
    slot_minutes: Mapped[int | None] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


_HOLDS_TIME = f"status NOT IN ({_listed(RELEASED)})"


class Appointment(PatientOwned, Base):
    __tablename__ = "appointments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name="fk_appointments_patient",
        ),
        _practitioner_fk(),
        _location_fk(),
        CheckConstraint("ends_at > starts_at", name="ordered"),
        CheckConstraint(_in("status", AppointmentStatus), name="status_known"),
        CheckConstraint(_in("appointment_type", AppointmentType), name="type_known"),
        CheckConstraint(
            "status <> 'cancelled' OR cancel_reason IS NOT NULL", name="cancel_has_reason"
        ),
        # The database, not the service, makes double booking impossible.
        ExcludeConstraint(
            ("tenant_id", "="),
            ("practitioner_id", "="),
            (func.tstzrange(literal_column("starts_at"), literal_column("ends_at"), "[)"), "&&"),
            name="ex_appointments_no_double_booking",
            using="gist",
            where=_HOLDS_TIME,
        ),
        Index(
            "ix_appointments_tenant_id_location_id_starts_at",
            "tenant_id",
            "location_id",
            "starts_at",
        ),
        Index("ix_appointments_tenant_id_starts_at", "tenant_id", "starts_at"),
    )

    practitioner_id: Mapped[uuid.UUID]
    location_id: Mapped[uuid.UUID]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=AppointmentStatus.SCHEDULED.value)
    appointment_type: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    confirmed_at: Mapped[datetime | None]
    checked_in_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    no_show_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    # Optimistic locking, and a per-row version for change capture downstream.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own hook
