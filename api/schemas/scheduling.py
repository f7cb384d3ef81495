import uuid
from datetime import date, datetime, time

from pydantic import Field, computed_field

from api.schemas.base import RequestModel, ResponseModel
from transactional.scheduling.types import (
    Action,
    AppointmentStatus,
    AppointmentType,
    ExceptionKind,
)
from transactional.scheduling.workflow import allowed_actions

NAIVE_IS_LOCAL = "with a UTC offset, or without one for wall-clock time at the location"


class WorkingHoursIn(RequestModel):
    location_id: uuid.UUID
    weekday: int = Field(ge=1, le=7, description="ISO weekday: 1 = Monday ... 7 = Sunday")
    start_time: time = Field(description="local time at the location")
    end_time: time = Field(description="local time at the location")
    slot_minutes: int = Field(ge=5, le=480)
    effective_from: date | None = Field(default=None, description="defaults to today")
    effective_to: date | None = Field(default=None, description="inclusive; null: open-ended")


class WorkingHoursSet(RequestModel):
    windows: list[WorkingHoursIn] = Field(max_length=100)


class WorkingHoursOut(ResponseModel):
    id: uuid.UUID
    location_id: uuid.UUID
    weekday: int
    start_time: time
    end_time: time
    slot_minutes: int
    effective_from: date
    effective_to: date | None


class ExceptionCreate(RequestModel):
    """Whole local days (`first_day`..`last_day`) or two times (`starts_at`, `ends_at`)."""

    kind: ExceptionKind
    location_id: uuid.UUID | None = Field(
        default=None, description="required for extra hours; time off without one is everywhere"
    )
    starts_at: datetime | None = Field(default=None, description=NAIVE_IS_LOCAL)
    ends_at: datetime | None = Field(default=None, description=NAIVE_IS_LOCAL)
    first_day: date | None = None
    last_day: date | None = Field(default=None, description="inclusive")
    slot_minutes: int | None = Field(default=None, ge=5, le=480, description="extra hours only")
    note: str | None = Field(default=None, max_length=200, description="e.g. leave, meeting")


class ExceptionOut(ResponseModel):
    id: uuid.UUID
    kind: ExceptionKind
    location_id: uuid.UUID | None
    starts_at: datetime | None
    ends_at: datetime | None
    first_day: date | None
    last_day: date | None
    slot_minutes: int | None
    note: str | None
    created_at: datetime


class SlotOut(ResponseModel):
    location_id: uuid.UUID
    time_zone: str
    starts_at: datetime
    ends_at: datetime
    local_starts_at: datetime
    local_ends_at: datetime


class SlotList(ResponseModel):
    practitioner_id: uuid.UUID
    items: list[SlotOut]


class AppointmentCreate(RequestModel):
    """Give `ends_at` or `duration_minutes`; with neither, the appointment is one slot long."""

    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    location_id: uuid.UUID
    starts_at: datetime = Field(description=NAIVE_IS_LOCAL)
    ends_at: datetime | None = Field(default=None, description=NAIVE_IS_LOCAL)
    duration_minutes: int | None = Field(default=None, ge=5, le=480)
    appointment_type: AppointmentType
    reason: str | None = Field(default=None, max_length=500)


class RescheduleRequest(RequestModel):
    """With neither `ends_at` nor `duration_minutes` the appointment keeps its length."""

    starts_at: datetime = Field(description=NAIVE_IS_LOCAL)
    ends_at: datetime | None = Field(default=None, description=NAIVE_IS_LOCAL)
    duration_minutes: int | None = Field(default=None, ge=5, le=480)
    location_id: uuid.UUID | None = Field(default=None, description="defaults to the current one")


class CancelRequest(RequestModel):
    reason: str = Field(min_length=1, max_length=500)


class AppointmentOut(ResponseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    location_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    status: AppointmentStatus
    appointment_type: AppointmentType
    reason: str | None
    cancel_reason: str | None
    confirmed_at: datetime | None
    checked_in_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    no_show_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def allowed_actions(self) -> list[Action]:
        return allowed_actions(self.status)


class AppointmentPage(ResponseModel):
    items: list[AppointmentOut]
    next_cursor: uuid.UUID | None


class QueueEntryOut(ResponseModel):
    appointment_id: uuid.UUID
    patient_id: uuid.UUID
    mrn: str
    patient_name: str
    practitioner_id: uuid.UUID
    practitioner_name: str
    status: AppointmentStatus
    starts_at: datetime
    checked_in_at: datetime
    waiting_minutes: int = Field(description="since check-in; until the visit started if it has")
    in_progress: bool


class FrontDeskQueue(ResponseModel):
    location_id: uuid.UUID
    time_zone: str
    items: list[QueueEntryOut]
