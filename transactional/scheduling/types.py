"""The vocabulary of scheduling: appointment statuses, actions, types and exception kinds."""

from enum import StrEnum


class AppointmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


# Appointments in these statuses no longer hold their time: the slot is free again.
RELEASED = (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)


class Action(StrEnum):
    CONFIRM = "confirm"
    CHECK_IN = "check_in"
    START = "start"
    COMPLETE = "complete"
    CANCEL = "cancel"
    NO_SHOW = "no_show"
    RESCHEDULE = "reschedule"


class AppointmentType(StrEnum):
    NEW_PATIENT = "new_patient"
    FOLLOW_UP = "follow_up"
    CONSULTATION = "consultation"
    PROCEDURE = "procedure"
    TELEHEALTH = "telehealth"
    OTHER = "other"


class ExceptionKind(StrEnum):
    UNAVAILABLE = "unavailable"
    EXTRA_HOURS = "extra_hours"
