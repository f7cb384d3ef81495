import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from psycopg.errors import ExclusionViolation
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from tests.factories.identity import make_tenant
from tests.factories.patients import make_patient
from tests.factories.scheduling import (
    VALID_NPI,
    add_schedule_exception,
    at,
    book_appointment,
    make_location,
    make_practitioner,
    next_monday,
    set_working_hours,
    tenant_session,
)
from transactional.audit.models import AuditEvent
from transactional.audit.trail import SYSTEM, Actor
from transactional.database import Database
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.identity.models import Tenant
from transactional.patients.merge import merge_patients
from transactional.patients.models import Patient
from transactional.patients.registry import delete_patient
from transactional.providers.directory import create_location
from transactional.providers.identifiers import check_npi
from transactional.providers.models import Location, Practitioner
from transactional.providers.practitioners import (
    NewPractitioner,
    create_practitioner,
    get_practitioner,
    update_practitioner,
)
from transactional.scheduling.appointments import (
    AppointmentFilter,
    change_status,
    get_appointment,
    list_appointments,
    read_appointment,
)
from transactional.scheduling.availability import Slot, free_slots
from transactional.scheduling.booking import Booking, NewTime, book, reschedule
from transactional.scheduling.models import Appointment
from transactional.scheduling.queue import front_desk_queue
from transactional.scheduling.types import Action, AppointmentStatus, AppointmentType, ExceptionKind
from transactional.scheduling.workflow import TRANSITIONS, allowed_actions
from transactional.scheduling.working_hours import NewException, WeeklyHours, replace_working_hours

NEW_YORK = "America/New_York"
S = AppointmentStatus


@dataclass(frozen=True)
class Clinic:
    """Mondays to Fridays 09:00-12:00 New York time in 30-minute slots."""

    tenant: Tenant
    location: Location
    practitioner: Practitioner
    patient: Patient
    monday: date

    def at(self, day: int, hour: int, minute: int = 0) -> datetime:
        """`day` counts from the Monday."""
        return at(self.monday + timedelta(days=day), hour, minute, time_zone=NEW_YORK)


@pytest.fixture
def clinic(database: Database) -> Clinic:
    tenant = make_tenant(database=database)
    location = make_location(database=database, tenant=tenant, time_zone=NEW_YORK)
    practitioner = make_practitioner(database=database, tenant=tenant)
    set_working_hours(
        database=database, tenant=tenant, practitioner=practitioner, location=location
    )
    patient = make_patient(database=database, tenant=tenant)
    return Clinic(tenant, location, practitioner, patient, next_monday())


def slots_of(
    database: Database,
    clinic: Clinic,
    first: int,
    last: int | None = None,
    *,
    now: datetime | None = None,
    location_id: uuid.UUID | None = None,
) -> list[Slot]:
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        return free_slots(
            session=session,
            tenant_id=clinic.tenant.id,
            practitioner_id=clinic.practitioner.id,
            first_day=clinic.monday + timedelta(days=first),
            last_day=clinic.monday + timedelta(days=first if last is None else last),
            location_id=location_id,
            now=now or datetime.now(UTC),
        )


def local_times(slots: list[Slot]) -> list[str]:
    return [slot.local_starts_at.strftime("%a %H:%M") for slot in slots]


def book_at(
    database: Database,
    clinic: Clinic,
    starts_at: datetime,
    *,
    minutes: int | None = None,
    patient: Patient | None = None,
) -> Appointment:
    return book_appointment(
        database=database,
        tenant=clinic.tenant,
        patient=patient or clinic.patient,
        practitioner=clinic.practitioner,
        location=clinic.location,
        starts_at=starts_at,
        minutes=minutes,
    )


def act(
    database: Database,
    clinic: Clinic,
    appointment: Appointment,
    action: Action,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Any workflow action; rescheduling moves the appointment to Tuesday 09:00."""
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        if action is Action.RESCHEDULE:
            return reschedule(
                session=session,
                tenant_id=clinic.tenant.id,
                appointment_id=appointment.id,
                new=NewTime(starts_at=clinic.at(1, 9)),
                actor=SYSTEM,
                now=now,
            )
        return change_status(
            session=session,
            tenant_id=clinic.tenant.id,
            appointment_id=appointment.id,
            action=action,
            actor=SYSTEM,
            reason=reason,
            now=now,
        )


def booking(clinic: Clinic, starts_at: datetime, **fields: object) -> Booking:
    values: dict[str, object] = {
        "patient_id": clinic.patient.id,
        "practitioner_id": clinic.practitioner.id,
        "location_id": clinic.location.id,
        "starts_at": starts_at,
        "appointment_type": AppointmentType.FOLLOW_UP,
    } | fields
    return Booking(**values)  # type: ignore[arg-type]


def count_appointments(database: Database, clinic: Clinic) -> int:
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        return session.scalar(select(func.count()).select_from(Appointment)) or 0


# Providers


def test_npi_check_digit_is_the_luhn_digit_with_the_80840_prefix(
    database: Database, clinic: Clinic
) -> None:
    assert check_npi(VALID_NPI) == VALID_NPI
    for wrong in ("1234567890", "123456789", "12345678930", "12345678a3"):
        with pytest.raises(InvalidInput, match="npi"):
            check_npi(wrong)
    with (
        pytest.raises(InvalidInput, match="NUCC"),
        tenant_session(database=database, tenant=clinic.tenant) as session,
    ):
        create_practitioner(
            session=session,
            tenant_id=clinic.tenant.id,
            data=NewPractitioner(display_name="Dr. Who", specialty_codes=["cardiology"]),
            actor=SYSTEM,
        )


def test_an_npi_belongs_to_one_practitioner_per_tenant(database: Database) -> None:
    tenant = make_tenant(database=database)
    make_practitioner(database=database, tenant=tenant, npi=VALID_NPI)
    with pytest.raises(Conflict, match="NPI"):
        make_practitioner(database=database, tenant=tenant, npi=VALID_NPI)
    make_practitioner(database=database, tenant=make_tenant(database=database), npi=VALID_NPI)


def test_practitioner_changes_are_audited_without_a_patient(
    database: Database, clinic: Clinic
) -> None:
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        changed = update_practitioner(
            session=session,
            tenant_id=clinic.tenant.id,
            practitioner_id=clinic.practitioner.id,
            changes={"npi": VALID_NPI, "specialty_codes": ["207r00000x"], "is_active": False},
            actor=SYSTEM,
        )
        events = session.execute(
            select(AuditEvent.action, AuditEvent.patient_id, AuditEvent.detail)
            .where(AuditEvent.resource_id == str(clinic.practitioner.id))
            .order_by(AuditEvent.occurred_at)
        ).all()
    assert changed.specialty_codes == ["207R00000X"] and not changed.is_active
    assert [(event.action, event.patient_id) for event in events] == [
        ("practitioner.create", None),
        ("practitioner.working_hours.replace", None),
        ("practitioner.update", None),
    ]
    assert events[-1].detail == {"fields": "is_active,npi,specialty_codes"}


def test_a_location_needs_an_iana_time_zone(database: Database, clinic: Clinic) -> None:
    for bad in ("Mars/Olympus_Mons", "EST5EDT/../x", ""):
        with (
            pytest.raises(InvalidInput, match="IANA"),
            tenant_session(database=database, tenant=clinic.tenant) as session,
        ):
            create_location(
                session=session, tenant_id=clinic.tenant.id, name="X", time_zone=bad, actor=SYSTEM
            )


def test_working_hours_refuse_overlapping_or_malformed_windows(
    database: Database, clinic: Clinic
) -> None:
    window = WeeklyHours(clinic.location.id, 1, time(9), time(12), 30)
    for hours, message in (
        ([window, WeeklyHours(clinic.location.id, 1, time(11), time(13), 30)], "overlap"),
        ([WeeklyHours(clinic.location.id, 8, time(9), time(12), 30)], "weekday"),
        ([WeeklyHours(clinic.location.id, 1, time(12), time(9), 30)], "end_time"),
        ([WeeklyHours(clinic.location.id, 1, time(9), time(9, 20), 30)], "one slot"),
    ):
        with (
            pytest.raises(InvalidInput, match=message),
            tenant_session(database=database, tenant=clinic.tenant) as session,
        ):
            replace_working_hours(
                session=session,
                tenant_id=clinic.tenant.id,
                practitioner_id=clinic.practitioner.id,
                hours=hours,
                actor=SYSTEM,
            )


# Free slots


def test_slots_follow_the_weekly_template_in_each_locations_time_zone(
    database: Database, clinic: Clinic
) -> None:
    tokyo = make_location(database=database, tenant=clinic.tenant, time_zone="Asia/Tokyo")
    since = clinic.monday - timedelta(days=7)
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        replace_working_hours(
            session=session,
            tenant_id=clinic.tenant.id,
            practitioner_id=clinic.practitioner.id,
            hours=[
                WeeklyHours(clinic.location.id, 1, time(9), time(11), 30, since),
                WeeklyHours(tokyo.id, 2, time(9), time(10), 20, since),
            ],
            actor=SYSTEM,
        )
    found = slots_of(database, clinic, 0, 1)
    assert local_times(found) == [
        "Mon 09:00",
        "Mon 09:30",
        "Mon 10:00",
        "Mon 10:30",
        "Tue 09:00",  # in Tokyo, which is Tuesday 00:00 UTC
        "Tue 09:20",
        "Tue 09:40",
    ]
    assert found[0].starts_at == clinic.at(0, 9)
    assert found[0].local_starts_at.tzinfo == ZoneInfo(NEW_YORK)
    assert found[0].ends_at - found[0].starts_at == timedelta(minutes=30)
    tuesday = clinic.monday + timedelta(days=1)
    assert found[4].starts_at == datetime.combine(tuesday, time(0), tzinfo=UTC)
    assert found[4].location_id == tokyo.id and found[4].time_zone == "Asia/Tokyo"
    only_tokyo = slots_of(database, clinic, 0, 1, location_id=tokyo.id)
    assert local_times(only_tokyo) == local_times(found)[4:]


def test_slots_exclude_booked_times_and_time_off(database: Database, clinic: Clinic) -> None:
    book_at(database, clinic, clinic.at(0, 9, 30))
    monday = clinic.monday
    add_schedule_exception(
        database=database,
        tenant=clinic.tenant,
        practitioner=clinic.practitioner,
        data=NewException(
            kind=ExceptionKind.UNAVAILABLE,
            location_id=clinic.location.id,
            starts_at=datetime.combine(monday, time(10, 30)),  # wall-clock time at the location
            ends_at=datetime.combine(monday, time(11, 30)),
            note="team meeting",
        ),
    )
    add_schedule_exception(
        database=database,
        tenant=clinic.tenant,
        practitioner=clinic.practitioner,
        data=NewException(
            kind=ExceptionKind.UNAVAILABLE,
            first_day=monday + timedelta(days=1),
            last_day=monday + timedelta(days=1),
            note="leave",
        ),
    )
    found = slots_of(database, clinic, 0, 2)
    assert local_times(found) == ["Mon 09:00", "Mon 10:00", "Mon 11:30"] + [
        f"Wed {hour}" for hour in ("09:00", "09:30", "10:00", "10:30", "11:00", "11:30")
    ]


def test_slots_are_never_in_the_past(database: Database, clinic: Clinic) -> None:
    found = slots_of(database, clinic, 0, now=clinic.at(0, 10, 10))
    assert local_times(found) == ["Mon 10:30", "Mon 11:00", "Mon 11:30"]


def test_cancelled_and_no_show_appointments_free_their_time(
    database: Database, clinic: Clinic
) -> None:
    first = book_at(database, clinic, clinic.at(0, 9))
    second = book_at(database, clinic, clinic.at(0, 9, 30))
    assert local_times(slots_of(database, clinic, 0))[:1] == ["Mon 10:00"]
    act(database, clinic, first, Action.CANCEL, reason="patient called")
    act(database, clinic, second, Action.NO_SHOW)
    assert local_times(slots_of(database, clinic, 0))[:2] == ["Mon 09:00", "Mon 09:30"]
    assert book_at(database, clinic, clinic.at(0, 9), minutes=60).status == "scheduled"


def test_extra_hours_open_bookable_slots(database: Database, clinic: Clinic) -> None:
    saturday = clinic.monday + timedelta(days=5)
    assert slots_of(database, clinic, 5) == []
    add_schedule_exception(
        database=database,
        tenant=clinic.tenant,
        practitioner=clinic.practitioner,
        data=NewException(
            kind=ExceptionKind.EXTRA_HOURS,
            location_id=clinic.location.id,
            starts_at=at(saturday, 10, time_zone=NEW_YORK),
            ends_at=at(saturday, 11, time_zone=NEW_YORK),
            slot_minutes=20,
        ),
    )
    assert local_times(slots_of(database, clinic, 5)) == ["Sat 10:00", "Sat 10:20", "Sat 10:40"]
    appointment = book_at(database, clinic, clinic.at(5, 10, 20))
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=20)


def test_a_slot_range_is_bounded(database: Database, clinic: Clinic) -> None:
    with pytest.raises(InvalidInput, match="date range"):
        slots_of(database, clinic, 3, 1)
    with pytest.raises(InvalidInput, match="date range"):
        slots_of(database, clinic, 0, 62)


# Booking


def test_a_booking_is_one_slot_long_unless_told_and_takes_local_wall_clock_times(
    database: Database, clinic: Clinic
) -> None:
    naive_local = datetime.combine(clinic.monday, time(9, 30))
    appointment = book_at(database, clinic, naive_local)
    assert appointment.starts_at == clinic.at(0, 9, 30)
    assert appointment.ends_at == clinic.at(0, 10)
    assert appointment.status == "scheduled" and appointment.version == 1
    longer = book_at(database, clinic, clinic.at(0, 10), minutes=90)
    assert longer.ends_at == clinic.at(0, 11, 30)


@pytest.mark.parametrize(
    ("day", "hour", "minute", "minutes", "message"),
    [
        (0, 8, 30, 30, "does not work"),
        (0, 11, 45, 30, "does not fit"),
        (0, 12, 0, 30, "does not work"),
        (5, 10, 0, 30, "does not work"),
    ],
    ids=["before-hours", "overruns-the-window", "after-hours", "weekend"],
)
def test_booking_outside_working_hours_is_invalid(
    database: Database, clinic: Clinic, day: int, hour: int, minute: int, minutes: int, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        book_at(database, clinic, clinic.at(day, hour, minute), minutes=minutes)
    assert count_appointments(database, clinic) == 0


def test_booking_in_the_past_backwards_or_in_time_off_is_invalid(
    database: Database, clinic: Clinic
) -> None:
    add_schedule_exception(
        database=database,
        tenant=clinic.tenant,
        practitioner=clinic.practitioner,
        data=NewException(
            kind=ExceptionKind.UNAVAILABLE,
            first_day=clinic.monday + timedelta(days=2),
            last_day=clinic.monday + timedelta(days=2),
        ),
    )
    cases = (
        (booking(clinic, clinic.at(0, 9)), clinic.at(0, 10), "past"),
        (booking(clinic, clinic.at(0, 10), ends_at=clinic.at(0, 9, 30)), None, "end after"),
        (booking(clinic, clinic.at(2, 10)), None, "unavailable"),
        (booking(clinic, clinic.at(0, 9), duration_minutes=3), None, "duration"),
    )
    for data, now, message in cases:
        with (
            pytest.raises(InvalidInput, match=message),
            tenant_session(database=database, tenant=clinic.tenant) as session,
        ):
            book(session=session, tenant_id=clinic.tenant.id, data=data, actor=SYSTEM, now=now)
    assert count_appointments(database, clinic) == 0


def test_overlapping_booking_is_a_conflict_and_writes_nothing(
    database: Database, clinic: Clinic
) -> None:
    book_at(database, clinic, clinic.at(0, 9), minutes=60)
    other = make_patient(database=database, tenant=clinic.tenant)
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        with pytest.raises(Conflict, match="already has an appointment"):
            book(
                session=session,
                tenant_id=clinic.tenant.id,
                data=booking(clinic, clinic.at(0, 9, 30), patient_id=other.id),
                actor=SYSTEM,
            )
        # The savepoint kept the transaction usable: the front desk books the next slot.
        book(
            session=session,
            tenant_id=clinic.tenant.id,
            data=booking(clinic, clinic.at(0, 10), patient_id=other.id),
            actor=SYSTEM,
        )
    assert count_appointments(database, clinic) == 2


def test_the_database_itself_refuses_overlapping_appointments(
    database: Database, clinic: Clinic
) -> None:
    book_at(database, clinic, clinic.at(0, 9), minutes=60)

    def insert(starts_at: datetime, status: str = "scheduled") -> None:
        with tenant_session(database=database, tenant=clinic.tenant) as session:
            session.add(
                Appointment(
                    tenant_id=clinic.tenant.id,
                    patient_id=clinic.patient.id,
                    practitioner_id=clinic.practitioner.id,
                    location_id=clinic.location.id,
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(minutes=30),
                    status=status,
                    appointment_type="other",
                    cancel_reason="test" if status == "cancelled" else None,
                )
            )

    with pytest.raises(IntegrityError) as refused:
        insert(clinic.at(0, 9, 45))
    assert isinstance(refused.value.orig, ExclusionViolation)
    insert(clinic.at(0, 10))  # ranges are half-open: back to back is fine
    insert(clinic.at(0, 9, 15), status="cancelled")
    assert count_appointments(database, clinic) == 3


def test_concurrent_bookings_of_one_slot_exactly_one_wins(
    database: Database, clinic: Clinic
) -> None:
    attempts = 6
    patients = [make_patient(database=database, tenant=clinic.tenant) for _ in range(attempts)]
    ready = threading.Barrier(attempts)

    def attempt(patient: Patient) -> str:
        try:
            with tenant_session(database=database, tenant=clinic.tenant) as session:
                ready.wait(timeout=30)
                book(
                    session=session,
                    tenant_id=clinic.tenant.id,
                    data=booking(clinic, clinic.at(0, 10), patient_id=patient.id),
                    actor=SYSTEM,
                )
        except Conflict:
            return "conflict"
        return "booked"

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        outcomes = list(pool.map(attempt, patients))
    assert sorted(outcomes) == ["booked"] + ["conflict"] * (attempts - 1)
    assert count_appointments(database, clinic) == 1


def test_only_live_patients_of_the_tenant_can_be_booked(database: Database, clinic: Clinic) -> None:
    deleted = make_patient(database=database, tenant=clinic.tenant)
    duplicate = make_patient(database=database, tenant=clinic.tenant)
    stranger = make_patient(database=database, tenant=make_tenant(database=database))
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        delete_patient(
            session=session, tenant_id=clinic.tenant.id, patient_id=deleted.id, actor=SYSTEM
        )
        merge_patients(
            session=session,
            tenant_id=clinic.tenant.id,
            survivor_id=clinic.patient.id,
            duplicate_id=duplicate.id,
            actor=SYSTEM,
        )
    for patient_id, error, message in (
        (deleted.id, Conflict, "deleted"),
        (duplicate.id, Conflict, "merged"),
        (stranger.id, NotFound, "patient not found"),
        (uuid.uuid4(), NotFound, "patient not found"),
    ):
        with (
            pytest.raises(error, match=message),
            tenant_session(database=database, tenant=clinic.tenant) as session,
        ):
            book(
                session=session,
                tenant_id=clinic.tenant.id,
                data=booking(clinic, clinic.at(0, 9), patient_id=patient_id),
                actor=SYSTEM,
            )


def test_an_inactive_practitioner_cannot_be_booked(database: Database, clinic: Clinic) -> None:
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        update_practitioner(
            session=session,
            tenant_id=clinic.tenant.id,
            practitioner_id=clinic.practitioner.id,
            changes={"is_active": False},
            actor=SYSTEM,
        )
    assert slots_of(database, clinic, 0) == []
    with pytest.raises(Conflict, match="not active"):
        book_at(database, clinic, clinic.at(0, 9))


# Workflow


def test_the_transition_table_is_the_documented_workflow() -> None:
    edges = {
        (source.value, target.value)
        for action, (sources, target) in TRANSITIONS.items()
        if action is not Action.RESCHEDULE
        for source in sources
    }
    assert edges == {
        ("scheduled", "confirmed"),
        ("confirmed", "checked_in"),
        ("scheduled", "checked_in"),
        ("checked_in", "in_progress"),
        ("in_progress", "completed"),
        ("scheduled", "cancelled"),
        ("confirmed", "cancelled"),
        ("scheduled", "no_show"),
        ("confirmed", "no_show"),
    }


def test_a_visit_moves_through_the_workflow_and_stamps_each_step(
    database: Database, clinic: Clinic
) -> None:
    appointment = book_at(database, clinic, clinic.at(0, 9))
    for action, stamp in (
        (Action.CONFIRM, "confirmed_at"),
        (Action.CHECK_IN, "checked_in_at"),
        (Action.START, "started_at"),
        (Action.COMPLETE, "completed_at"),
    ):
        moment = datetime.now(UTC).replace(microsecond=0)
        appointment = act(database, clinic, appointment, action, now=moment)
        assert getattr(appointment, stamp) == moment
    assert appointment.status == "completed" and appointment.version == 5


PATHS = {
    S.SCHEDULED: [],
    S.CONFIRMED: [Action.CONFIRM],
    S.CHECKED_IN: [Action.CHECK_IN],
    S.IN_PROGRESS: [Action.CHECK_IN, Action.START],
    S.COMPLETED: [Action.CHECK_IN, Action.START, Action.COMPLETE],
    S.CANCELLED: [Action.CANCEL],
    S.NO_SHOW: [Action.NO_SHOW],
}


@pytest.mark.parametrize("status", list(AppointmentStatus))
def test_every_action_the_table_does_not_allow_is_a_conflict(
    database: Database, clinic: Clinic, status: AppointmentStatus
) -> None:
    appointment = book_at(database, clinic, clinic.at(0, 9))
    for action in PATHS[status]:
        appointment = act(database, clinic, appointment, action, reason="patient called")
    assert appointment.status == status.value
    refused = [action for action in Action if action not in allowed_actions(status)]
    for action in refused:
        with pytest.raises(Conflict, match="cannot"):
            act(database, clinic, appointment, action, reason="patient called")
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        after = get_appointment(
            session=session, tenant_id=clinic.tenant.id, appointment_id=appointment.id
        )
    assert after.status == status.value and after.starts_at == clinic.at(0, 9)


def test_cancelling_needs_a_reason(database: Database, clinic: Clinic) -> None:
    appointment = book_at(database, clinic, clinic.at(0, 9))
    for reason in (None, "   "):
        with pytest.raises(InvalidInput, match="reason is required"):
            act(database, clinic, appointment, Action.CANCEL, reason=reason)
    cancelled = act(database, clinic, appointment, Action.CANCEL, reason="  feeling better ")
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "feeling better"
    assert cancelled.cancelled_at is not None


def test_rescheduling_into_a_taken_slot_is_a_conflict_and_keeps_the_original(
    database: Database, clinic: Clinic
) -> None:
    book_at(database, clinic, clinic.at(0, 9))
    other = make_patient(database=database, tenant=clinic.tenant)
    moving = book_at(database, clinic, clinic.at(0, 10), patient=other)
    moving = act(database, clinic, moving, Action.CONFIRM)
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        with pytest.raises(Conflict, match="already has an appointment"):
            reschedule(
                session=session,
                tenant_id=clinic.tenant.id,
                appointment_id=moving.id,
                new=NewTime(starts_at=clinic.at(0, 9)),
                actor=SYSTEM,
            )
        unchanged = get_appointment(
            session=session, tenant_id=clinic.tenant.id, appointment_id=moving.id
        )
        assert (unchanged.starts_at, unchanged.status) == (clinic.at(0, 10), "confirmed")
        for new_time, message in (
            (NewTime(starts_at=clinic.at(0, 8)), "does not work"),
            (NewTime(starts_at=clinic.at(0, 11, 30), duration_minutes=60), "does not fit"),
        ):
            with pytest.raises(InvalidInput, match=message):
                reschedule(
                    session=session,
                    tenant_id=clinic.tenant.id,
                    appointment_id=moving.id,
                    new=new_time,
                    actor=SYSTEM,
                )
        moved = reschedule(
            session=session,
            tenant_id=clinic.tenant.id,
            appointment_id=moving.id,
            new=NewTime(starts_at=clinic.at(1, 11)),
            actor=SYSTEM,
        )
    assert (moved.starts_at, moved.ends_at) == (clinic.at(1, 11), clinic.at(1, 11, 30))
    assert moved.status == "scheduled" and moved.confirmed_at is None  # to be confirmed again
    with (
        pytest.raises(InvalidInput, match="past"),
        tenant_session(database=database, tenant=clinic.tenant) as session,
    ):
        reschedule(
            session=session,
            tenant_id=clinic.tenant.id,
            appointment_id=moving.id,
            new=NewTime(starts_at=clinic.at(0, 9, 30)),
            actor=SYSTEM,
            now=clinic.at(0, 10),
        )


# Reads, queue, audit, tenancy


def test_appointments_are_listed_by_local_date_and_paged(
    database: Database, clinic: Clinic
) -> None:
    first = book_at(database, clinic, clinic.at(0, 9))
    second = book_at(database, clinic, clinic.at(0, 11))
    book_at(database, clinic, clinic.at(1, 9))
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        monday = AppointmentFilter(on_date=clinic.monday, practitioner_id=clinic.practitioner.id)
        page, cursor = list_appointments(
            session=session, tenant_id=clinic.tenant.id, filters=monday, limit=1, actor=SYSTEM
        )
        rest, end = list_appointments(
            session=session,
            tenant_id=clinic.tenant.id,
            filters=monday,
            limit=5,
            actor=SYSTEM,
            after_id=cursor,
        )
        confirmed, _ = list_appointments(
            session=session,
            tenant_id=clinic.tenant.id,
            filters=AppointmentFilter(status=S.CONFIRMED),
            limit=5,
            actor=SYSTEM,
        )
    assert [a.id for a in page] == [first.id] and cursor == first.id
    assert [a.id for a in rest] == [second.id] and end is None
    assert confirmed == []


def test_the_front_desk_queue_shows_todays_check_ins_with_waiting_minutes(
    database: Database, clinic: Clinic
) -> None:
    today = datetime.now(ZoneInfo(NEW_YORK)).date()
    noon = at(today, 12, time_zone=NEW_YORK)
    waiting = book_at(database, clinic, clinic.at(0, 9))
    seen = book_at(database, clinic, clinic.at(0, 9, 30))
    yesterday = book_at(database, clinic, clinic.at(0, 10))
    book_at(database, clinic, clinic.at(0, 10, 30))  # not arrived
    act(database, clinic, waiting, Action.CHECK_IN, now=noon)
    act(database, clinic, seen, Action.CHECK_IN, now=noon + timedelta(minutes=5))
    act(database, clinic, seen, Action.START, now=noon + timedelta(minutes=12))
    act(database, clinic, yesterday, Action.CHECK_IN, now=noon - timedelta(days=1))
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        queue = front_desk_queue(
            session=session,
            tenant_id=clinic.tenant.id,
            location_id=clinic.location.id,
            actor=SYSTEM,
            now=noon + timedelta(minutes=17, seconds=30),
        )
        audit = session.execute(
            select(AuditEvent.patient_id, AuditEvent.detail).where(
                AuditEvent.action == "appointment.queue.read"
            )
        ).one()
    assert [(e.appointment_id, e.waiting_minutes, e.in_progress) for e in queue.entries] == [
        (waiting.id, 17, False),
        (seen.id, 7, True),
    ]
    assert queue.entries[0].patient_name == f"{clinic.patient.family_name}, Alex"
    assert queue.time_zone == NEW_YORK
    assert audit.patient_id is None and audit.detail == {"returned": 2}


def test_appointment_reads_and_writes_are_audited_with_the_patient(
    database: Database, clinic: Clinic
) -> None:
    appointment = book_at(database, clinic, clinic.at(0, 9))
    receptionist = Actor(user_id=uuid.uuid4(), role="receptionist")
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        read_appointment(
            session=session,
            tenant_id=clinic.tenant.id,
            appointment_id=appointment.id,
            actor=receptionist,
        )
        list_appointments(
            session=session,
            tenant_id=clinic.tenant.id,
            filters=AppointmentFilter(patient_id=clinic.patient.id),
            limit=10,
            actor=receptionist,
        )
    act(database, clinic, appointment, Action.CANCEL, reason="private reason text")
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        events = session.execute(
            select(AuditEvent)
            .where(AuditEvent.resource_id == str(appointment.id))
            .order_by(AuditEvent.occurred_at)
        ).scalars()
        rows = [(e.action, e.patient_id, e.resource_type, e.detail) for e in events]
    assert rows == [
        ("appointment.book", clinic.patient.id, "appointment", {"type": "follow_up"}),
        ("appointment.read", clinic.patient.id, "appointment", {}),
        ("appointment.list", clinic.patient.id, "appointment", {}),
        (
            "appointment.cancel",
            clinic.patient.id,
            "appointment",
            {"from": "scheduled", "to": "cancelled"},
        ),
    ]


def test_another_tenant_sees_neither_the_appointment_nor_the_practitioner(
    database: Database, clinic: Clinic
) -> None:
    appointment = book_at(database, clinic, clinic.at(0, 9))
    other = make_tenant(database=database)
    with tenant_session(database=database, tenant=other) as session:
        for tenant_id in (other.id, clinic.tenant.id):  # RLS hides it even when asked by id
            with pytest.raises(NotFound):
                get_appointment(session=session, tenant_id=tenant_id, appointment_id=appointment.id)
            with pytest.raises(NotFound):
                get_practitioner(
                    session=session, tenant_id=tenant_id, practitioner_id=clinic.practitioner.id
                )
        assert session.execute(text("SELECT count(*) FROM appointments")).scalar() == 0
        assert session.execute(text("SELECT count(*) FROM working_hours")).scalar() == 0
