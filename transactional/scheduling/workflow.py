"""The appointment status workflow: the one table that says which action is allowed when.

scheduled -> confirmed -> checked_in -> in_progress -> completed; scheduled may also go
straight to checked_in (walk-up arrival); scheduled and confirmed may be cancelled, marked a
no-show, or rescheduled (a new time needs confirming again, so it returns to scheduled).
"""

from collections.abc import Mapping
from types import MappingProxyType

from transactional.errors import Conflict
from transactional.scheduling.types import Action, AppointmentStatus

S = AppointmentStatus
_OPEN = frozenset({S.SCHEDULED, S.CONFIRMED})

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: Mapping[Action, tuple[frozenset[AppointmentStatus], AppointmentStatus]] = (
    MappingProxyType(
        {
            Action.CONFIRM: (frozenset({S.SCHEDULED}), S.CONFIRMED),
            Action.CHECK_IN: (_OPEN, S.CHECKED_IN),
            Action.START: (frozenset({S.CHECKED_IN}), S.IN_PROGRESS),
            Action.COMPLETE: (frozenset({S.IN_PROGRESS}), S.COMPLETED),
            Action.CANCEL: (_OPEN, S.CANCELLED),
            Action.NO_SHOW: (_OPEN, S.NO_SHOW),
            Action.RESCHEDULE: (_OPEN, S.SCHEDULED),
        }
    )
)

# The instant each action stamps on the appointment.
STAMPS: Mapping[Action, str] = MappingProxyType(
    {
        Action.CONFIRM: "confirmed_at",
        Action.CHECK_IN: "checked_in_at",
        Action.START: "started_at",
        Action.COMPLETE: "completed_at",
        Action.CANCEL: "cancelled_at",
        Action.NO_SHOW: "no_show_at",
    }
)


def next_status(current: str, action: Action) -> AppointmentStatus:
    """The status `action` leads to from `current`; `Conflict` if it is not allowed."""
    sources, target = TRANSITIONS[action]
    if AppointmentStatus(current) not in sources:
        raise Conflict(f"cannot {action.value.replace('_', '-')} an appointment that is {current}")
    return target


def allowed_actions(current: str) -> list[Action]:
    status = AppointmentStatus(current)
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]
