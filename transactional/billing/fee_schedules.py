"""Fee schedules: what a payer (or, without one, a self-paying patient) is charged per code.

A price belongs to a procedure code with its system (CPT or HCPCS) in a schedule that is
effective for a period. The price of a service is looked up in the schedule of the payer on
the service date and, when that schedule does not price the code, in the default schedule.
"""

import uuid
from dataclasses import dataclass
from datetime import date

from psycopg.errors import ExclusionViolation
from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor
from transactional.billing.audit_events import audit
from transactional.billing.models import FeeSchedule, FeeScheduleItem
from transactional.billing.money import check_cents
from transactional.charting.codes import CPT, HCPCS
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.patients.models import Payer
from transactional.terminology.catalog import validate

BILLABLE_SYSTEMS = (CPT, HCPCS)
MAX_FEES = 5_000
OVERLAP = "this payer already has a fee schedule in effect during part of that period"


@dataclass(frozen=True)
class Fee:
    system: str
    code: str
    amount_cents: int


@dataclass(frozen=True)
class NewFeeSchedule:
    """`payer_id` None is the default (self-pay) schedule."""

    name: str
    effective_from: date
    fees: tuple[Fee, ...]
    payer_id: uuid.UUID | None = None
    effective_to: date | None = None


@dataclass(frozen=True)
class Price:
    fee_schedule_id: uuid.UUID
    unit_price_cents: int


def _in_effect(on: date) -> list[ColumnElement[bool]]:
    return [
        FeeSchedule.effective_from <= on,
        (FeeSchedule.effective_to.is_(None)) | (FeeSchedule.effective_to >= on),
    ]


def _schedule_of(payer_id: uuid.UUID | None) -> ColumnElement[bool]:
    if payer_id is None:
        return FeeSchedule.payer_id.is_(None)
    return FeeSchedule.payer_id == payer_id


def _overlapping(
    session: Session,
    tenant_id: uuid.UUID,
    payer_id: uuid.UUID | None,
    start: date,
    end: date | None,
    *,
    other_than: uuid.UUID | None = None,
) -> bool:
    query = select(FeeSchedule.id).where(
        FeeSchedule.tenant_id == tenant_id,
        _schedule_of(payer_id),
        (FeeSchedule.effective_to.is_(None)) | (FeeSchedule.effective_to >= start),
    )
    if end is not None:
        query = query.where(FeeSchedule.effective_from <= end)
    if other_than is not None:
        query = query.where(FeeSchedule.id != other_than)
    return session.scalar(query.limit(1)) is not None


def _flush_period(session: Session) -> None:
    """The exclusion constraint decides between concurrent schedules of one payer."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        if isinstance(error.orig, ExclusionViolation):
            raise Conflict(OVERLAP) from None
        raise


def create_fee_schedule(
    *, session: Session, tenant_id: uuid.UUID, data: NewFeeSchedule, actor: Actor
) -> FeeSchedule:
    name = data.name.strip()
    if not name:
        raise InvalidInput("a fee schedule needs a name")
    if data.effective_to is not None and data.effective_to < data.effective_from:
        raise InvalidInput("effective_to cannot be before effective_from")
    if not 1 <= len(data.fees) <= MAX_FEES:
        raise InvalidInput(f"a fee schedule prices 1 to {MAX_FEES} codes")
    if data.payer_id is not None:
        known = session.scalar(
            select(Payer.id).where(Payer.tenant_id == tenant_id, Payer.id == data.payer_id)
        )
        if known is None:
            raise InvalidInput("payer_id does not name a payer of this tenant")
    items: dict[tuple[str, str], FeeScheduleItem] = {}
    schedule_id = uuid.uuid4()
    for fee in data.fees:
        concept = validate(fee.system, fee.code, allowed=BILLABLE_SYSTEMS)
        key = (concept.system.value, concept.code)
        if key in items:
            raise InvalidInput(f"{concept.system.short_name} {concept.code} is priced twice")
        items[key] = FeeScheduleItem(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            fee_schedule_id=schedule_id,
            code_system=key[0],
            code=key[1],
            amount_cents=check_cents(fee.amount_cents, what="a fee", allow_zero=True),
        )
    if _overlapping(session, tenant_id, data.payer_id, data.effective_from, data.effective_to):
        raise Conflict(OVERLAP)
    schedule = FeeSchedule(
        id=schedule_id,
        tenant_id=tenant_id,
        payer_id=data.payer_id,
        name=name,
        effective_from=data.effective_from,
        effective_to=data.effective_to,
        created_by=actor.user_id,
    )
    session.add(schedule)
    _flush_period(session)
    session.add_all(items.values())
    session.flush()
    audit(
        session,
        actor,
        tenant_id=tenant_id,
        action="fee_schedule.create",
        resource_type="fee_schedule",
        resource_id=schedule.id,
        fees=len(items),
    )
    return schedule


def find_fee_schedule(
    *, session: Session, tenant_id: uuid.UUID, fee_schedule_id: uuid.UUID
) -> FeeSchedule:
    schedule = session.scalar(
        select(FeeSchedule).where(
            FeeSchedule.tenant_id == tenant_id, FeeSchedule.id == fee_schedule_id
        )
    )
    if schedule is None:
        raise NotFound("fee schedule not found")
    return schedule


def end_fee_schedule(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    fee_schedule_id: uuid.UUID,
    effective_to: date,
    actor: Actor,
) -> FeeSchedule:
    """Close a schedule's period so that a new one can take over; charges keep their price."""
    schedule = find_fee_schedule(
        session=session, tenant_id=tenant_id, fee_schedule_id=fee_schedule_id
    )
    if effective_to < schedule.effective_from:
        raise InvalidInput("effective_to cannot be before effective_from")
    if schedule.effective_to is not None and effective_to > schedule.effective_to:
        raise Conflict("a fee schedule's period can be shortened, not extended")
    schedule.effective_to = effective_to
    session.flush()
    audit(
        session,
        actor,
        tenant_id=tenant_id,
        action="fee_schedule.end",
        resource_type="fee_schedule",
        resource_id=schedule.id,
    )
    return schedule


def list_fee_schedules(
    *, session: Session, tenant_id: uuid.UUID, payer_id: uuid.UUID | None = None
) -> list[FeeSchedule]:
    query = select(FeeSchedule).where(FeeSchedule.tenant_id == tenant_id)
    if payer_id is not None:
        query = query.where(FeeSchedule.payer_id == payer_id)
    return list(
        session.scalars(
            query.order_by(FeeSchedule.payer_id.nulls_first(), FeeSchedule.effective_from)
        )
    )


def fees_of(
    *, session: Session, tenant_id: uuid.UUID, fee_schedule_id: uuid.UUID
) -> list[FeeScheduleItem]:
    return list(
        session.scalars(
            select(FeeScheduleItem)
            .where(
                FeeScheduleItem.tenant_id == tenant_id,
                FeeScheduleItem.fee_schedule_id == fee_schedule_id,
            )
            .order_by(FeeScheduleItem.code_system, FeeScheduleItem.code)
        )
    )


def _price_in(
    session: Session,
    tenant_id: uuid.UUID,
    payer_id: uuid.UUID | None,
    system: str,
    code: str,
    on: date,
) -> Price | None:
    row = session.execute(
        select(FeeSchedule.id, FeeScheduleItem.amount_cents)
        .join(
            FeeScheduleItem,
            (FeeScheduleItem.tenant_id == FeeSchedule.tenant_id)
            & (FeeScheduleItem.fee_schedule_id == FeeSchedule.id),
        )
        .where(
            FeeSchedule.tenant_id == tenant_id,
            _schedule_of(payer_id),
            *_in_effect(on),
            FeeScheduleItem.code_system == system,
            FeeScheduleItem.code == code,
        )
    ).first()
    return None if row is None else Price(row[0], row[1])


def price_for(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    payer_id: uuid.UUID | None,
    system: str,
    code: str,
    on: date,
) -> Price | None:
    """The payer's price on `on`, else the default schedule's; None if neither prices it."""
    if payer_id is not None:
        price = _price_in(session, tenant_id, payer_id, system, code, on)
        if price is not None:
            return price
    return _price_in(session, tenant_id, None, system, code, on)
