"""Dispensing against a prescription, first-expiry-first-out, never overselling.

Concurrency: the prescription row is locked first (so its dispensed total cannot race), then
the usable lots of the item in expiry order (one fixed lock order, so no deadlock); each lot
is decremented with a conditional UPDATE, and the database CHECK keeps quantity on hand at
zero or above whatever the application does. Threads racing for the last units therefore
dispense exactly what is there and are refused the rest.
"""

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.medications.knowledge import knowledge_base
from transactional.medications.models import Prescription
from transactional.medications.prescriptions import find_prescription
from transactional.medications.types import DISPENSABLE, PrescriptionStatus
from transactional.pharmacy.models import StockItem, StockLot, StockMovement
from transactional.pharmacy.stock import today

S = PrescriptionStatus


@dataclass(frozen=True)
class DispenseRequest:
    prescription_id: uuid.UUID
    quantity: Decimal
    lot_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Portion:
    lot: StockLot
    quantity: Decimal


@dataclass(frozen=True)
class Dispense:
    prescription: Prescription
    item: StockItem
    portions: list[Portion]


def _quantity(value: Decimal) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise InvalidInput("quantity must be positive")
    if value != value.quantize(Decimal("0.001")) or value >= Decimal("1e9"):
        raise InvalidInput("quantity must be below 10^9 with at most 3 decimal places")
    return value


def _matches(prescription: Prescription, item: StockItem) -> bool:
    """The product itself, or for an ingredient order any product of exactly that ingredient."""
    if item.medication_code == prescription.medication_code:
        return True
    if prescription.medication_tty != "IN":
        return False
    product = knowledge_base().medication(item.medication_code)
    return product is not None and set(product.ingredients) == set(prescription.ingredient_codes)


def _item(
    session: Session, tenant_id: uuid.UUID, prescription: Prescription, request: DispenseRequest
) -> StockItem:
    if request.lot_id is not None:
        lot = session.scalar(
            select(StockLot).where(StockLot.tenant_id == tenant_id, StockLot.id == request.lot_id)
        )
        if lot is None:
            raise NotFound("lot not found")
        item = session.scalar(
            select(StockItem).where(
                StockItem.tenant_id == tenant_id, StockItem.id == lot.stock_item_id
            )
        )
        if item is None or not _matches(prescription, item):
            raise Conflict("this lot is not of the prescribed medication")
        if request.location_id is not None and item.location_id != request.location_id:
            raise Conflict("this lot is not at the named location")
        return item
    query = select(StockItem).where(StockItem.tenant_id == tenant_id)
    if request.location_id is not None:
        query = query.where(StockItem.location_id == request.location_id)
    items = [i for i in session.scalars(query.order_by(StockItem.id)) if _matches(prescription, i)]
    if not items:
        raise Conflict("the prescribed medication is not stocked here")
    with_stock = [i for i in items if _usable_lots(session, tenant_id, i.id, lock=False)]
    if len({i.location_id for i in with_stock or items}) > 1:
        raise InvalidInput("the medication is stocked at several locations; name a location_id")
    return (with_stock or items)[0]


def _usable_lots(
    session: Session, tenant_id: uuid.UUID, stock_item_id: uuid.UUID, *, lock: bool
) -> list[StockLot]:
    query = (
        select(StockLot)
        .where(
            StockLot.tenant_id == tenant_id,
            StockLot.stock_item_id == stock_item_id,
            StockLot.expiry_date >= today(),
            StockLot.quantity_on_hand > 0,
        )
        .order_by(StockLot.expiry_date, StockLot.received_at, StockLot.id)
    )
    if lock:
        # Re-read under the lock: rows already in the session must not keep stale quantities.
        query = query.with_for_update().execution_options(populate_existing=True)
    return list(session.scalars(query))


def _plan(lots: list[StockLot], quantity: Decimal) -> list[Portion]:
    portions, needed = [], quantity
    for lot in lots:
        take = min(lot.quantity_on_hand, needed)
        portions.append(Portion(lot, take))
        needed -= take
        if needed == 0:
            return portions
    available = quantity - needed
    raise Conflict(
        f"only {available.normalize():f} in stock; cannot dispense {quantity.normalize():f}"
    )


def dispense(
    *, session: Session, tenant_id: uuid.UUID, request: DispenseRequest, actor: Actor
) -> Dispense:
    quantity = _quantity(request.quantity)
    prescription = find_prescription(
        session=session,
        tenant_id=tenant_id,
        prescription_id=request.prescription_id,
        for_update=True,
    )
    if prescription.status not in DISPENSABLE:
        raise Conflict(f"cannot dispense a prescription that is {prescription.status}")
    if prescription.quantity is None:
        raise Conflict("the prescription has no quantity to dispense against")
    allowed = prescription.quantity * (1 + prescription.refills)
    remaining = allowed - prescription.dispensed_quantity
    if quantity > remaining:
        raise Conflict(
            f"only {remaining.normalize():f} of the prescribed {allowed.normalize():f} "
            "remain to be dispensed"
        )
    item = _item(session, tenant_id, prescription, request)
    if prescription.quantity_unit not in (None, "{each}", item.unit):
        raise Conflict("the prescription's quantity unit differs from the stock item's unit")
    if request.lot_id is not None:
        lot = session.scalar(
            select(StockLot)
            .where(StockLot.tenant_id == tenant_id, StockLot.id == request.lot_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if lot is None:
            raise NotFound("lot not found")
        if lot.expiry_date < today():
            raise Conflict("this lot has expired and cannot be dispensed")
        portions = _plan([lot], quantity)
    else:
        portions = _plan(_usable_lots(session, tenant_id, item.id, lock=True), quantity)
    now = utcnow()
    for portion in portions:
        taken = session.execute(
            update(StockLot)
            .where(
                StockLot.tenant_id == tenant_id,
                StockLot.id == portion.lot.id,
                StockLot.quantity_on_hand >= portion.quantity,
            )
            .values(quantity_on_hand=StockLot.quantity_on_hand - portion.quantity, updated_at=now)
            .execution_options(synchronize_session="fetch")
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("stock changed while dispensing; try again")
        session.add(
            StockMovement(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                stock_item_id=item.id,
                lot_id=portion.lot.id,
                kind="dispense",
                quantity=portion.quantity,
                prescription_id=prescription.id,
                patient_id=prescription.patient_id,
                actor_user_id=actor.user_id,
                occurred_at=now,
            )
        )
    prescription.dispensed_quantity += quantity
    prescription.last_dispensed_at = now
    prescription.status = (
        S.DISPENSED if prescription.dispensed_quantity >= allowed else (S.PARTIALLY_DISPENSED)
    )
    session.flush()
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(
            action="pharmacy.dispense",
            resource_type="prescription",
            resource_id=prescription.id,
            patient_id=prescription.patient_id,
            detail={
                "medication": item.medication_code,
                "quantity": str(quantity),
                "lots": [str(p.lot.id) for p in portions],
            },
        ),
    )
    return Dispense(prescription, item, portions)
