"""An order's status workflow: specimen collection, cancellation, entered in error.

    active --collect--> specimen_collected --results--> resulted   (laboratory)
    active --final report--> resulted                              (imaging)
    active | specimen_collected --cancel (reason)--> cancelled
    active | specimen_collected | resulted --enter_in_error (reason)--> entered_in_error

Each step locks the order row first, so concurrent steps queue and the later one sees the
status the earlier one left (and is refused with a 409 if it no longer applies). Migration
0009's trigger refuses any other status change, whoever makes it.
"""

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from transactional.alerts.lifecycle import resolve_for_subjects
from transactional.audit.trail import Actor
from transactional.base import utcnow
from transactional.errors import Conflict, InvalidInput
from transactional.orders.models import SPECIMEN_TYPES, LabResult, Order
from transactional.orders.ordering import audit, find_order
from transactional.patients.models import Patient

# status -> statuses it may move to; the migration's trigger holds the same table.
TRANSITIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "active": frozenset({"specimen_collected", "resulted", "cancelled", "entered_in_error"}),
        "specimen_collected": frozenset({"resulted", "cancelled", "entered_in_error"}),
        "resulted": frozenset({"entered_in_error"}),
        "cancelled": frozenset(),
        "entered_in_error": frozenset(),
    }
)
_CLOCK_SKEW = timedelta(minutes=5)


def _refuse_unless(order: Order, target: str, doing: str) -> None:
    if target not in TRANSITIONS[order.status]:
        raise Conflict(f"cannot {doing} an order that is {order.status.replace('_', ' ')}")


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a reason is required")
    if len(reason) > 500:
        raise InvalidInput("the reason must be at most 500 characters")
    return reason


def collect_specimen(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    specimen_type: str,
    actor: Actor,
    collected_at: datetime | None = None,
) -> Order:
    if specimen_type not in SPECIMEN_TYPES:
        raise InvalidInput(f"specimen_type must be one of: {', '.join(SPECIMEN_TYPES)}")
    now = utcnow()
    when = collected_at or now
    if when.tzinfo is None:
        raise InvalidInput("collected_at needs a time zone")
    if when > now + _CLOCK_SKEW:
        raise InvalidInput("a specimen cannot be collected in the future")
    order = find_order(session=session, tenant_id=tenant_id, order_id=order_id, for_update=True)
    if order.category != "laboratory":
        raise Conflict("only laboratory orders take a specimen")
    _refuse_unless(order, "specimen_collected", "collect a specimen for")
    birth_date = session.scalar(
        select(Patient.birth_date).where(
            Patient.tenant_id == tenant_id, Patient.id == order.patient_id
        )
    )
    if birth_date is not None and when.date() < birth_date:
        raise InvalidInput("a specimen cannot be collected before the patient was born")
    order.specimen_type = specimen_type
    order.collected_at = when
    order.collected_by = actor.user_id
    order.status = "specimen_collected"
    session.flush()
    audit(session, actor, order, "order.specimen_collect", specimen_type=specimen_type)
    return order


def cancel_order(
    *, session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID, reason: str, actor: Actor
) -> Order:
    """Withdraw an order that has no result yet."""
    reason = _reason(reason)
    order = find_order(session=session, tenant_id=tenant_id, order_id=order_id, for_update=True)
    _refuse_unless(order, "cancelled", "cancel")
    _close(order, "cancelled", reason, actor)
    session.flush()
    audit(session, actor, order, "order.cancel")
    return order


def enter_in_error(
    *, session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID, reason: str, actor: Actor
) -> Order:
    """Mark an order (and its results) as never valid; open alerts on its results close."""
    reason = _reason(reason)
    order = find_order(session=session, tenant_id=tenant_id, order_id=order_id, for_update=True)
    _refuse_unless(order, "entered_in_error", "enter in error")
    withdrawn = list(
        session.scalars(
            update(LabResult)
            .where(
                LabResult.tenant_id == tenant_id,
                LabResult.order_id == order.id,
                LabResult.status.in_(("preliminary", "final")),
            )
            .values(status="entered_in_error", updated_at=utcnow())
            .returning(LabResult.id)
        )
    )
    _close(order, "entered_in_error", reason, actor)
    session.flush()
    resolve_for_subjects(
        session=session,
        tenant_id=tenant_id,
        subject_type="lab_result",
        subject_ids=withdrawn,
        reason="the result was entered in error",
        actor=actor,
    )
    audit(session, actor, order, "order.enter_in_error", results=len(withdrawn))
    return order


def _close(order: Order, status: str, reason: str, actor: Actor) -> None:
    order.status = status
    order.closed_at = utcnow()
    order.closed_by = actor.user_id
    order.closed_reason = reason
