"""Stock items per location, receiving lots, and reorder alerts.

On-hand quantities that count are those of unexpired lots: an expired lot is never
dispensed, so it cannot keep an item above its reorder threshold either.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.medications import sig
from transactional.medications.knowledge import knowledge_base
from transactional.medications.types import RXNORM
from transactional.pharmacy.models import StockItem, StockLot, StockMovement
from transactional.providers.models import Location
from transactional.terminology.catalog import validate


@dataclass(frozen=True)
class NewStockItem:
    location_id: uuid.UUID
    medication_system: str
    medication_code: str
    unit: str | None = None
    reorder_threshold: Decimal = Decimal(0)


@dataclass(frozen=True)
class Receipt:
    """Stock arriving: into a named item, or the item for (location, medication)."""

    lot_number: str
    expiry_date: date
    quantity: Decimal
    stock_item_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    medication_system: str | None = None
    medication_code: str | None = None
    unit: str | None = None
    reorder_threshold: Decimal | None = None


@dataclass(frozen=True)
class StockLevel:
    item: StockItem
    on_hand: Decimal


def today() -> date:
    return utcnow().date()


def _audit(
    session: Session,
    actor: Actor,
    tenant_id: uuid.UUID,
    action: str,
    resource_id: uuid.UUID,
    **detail: str | int | bool | None,
) -> None:
    """Stock holds no PHI: no patient id here (dispensing audits carry it)."""
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(
            action=action,
            resource_type=action.partition(".")[0],
            resource_id=resource_id,
            detail=detail,
        ),
    )


def _clinical_drug(system: str, code: str) -> tuple[str, str]:
    """Stock is kept as products (clinical drugs), not ingredients."""
    concept = validate(system, code, allowed=(RXNORM,))
    medication = knowledge_base().medication(concept.code)
    if medication is None or medication.is_ingredient:
        raise InvalidInput(
            f"RxNorm {concept.code} is not a clinical drug of the medication knowledge base; "
            "stock is kept per product (SCD), not per ingredient"
        )
    return medication.code, medication.display


def _amount(value: Decimal, field: str, *, zero: bool = False) -> Decimal:
    if not value.is_finite() or value < 0 or (value == 0 and not zero):
        raise InvalidInput(f"{field} must be {'zero or more' if zero else 'positive'}")
    if value != value.quantize(Decimal("0.001")) or value >= Decimal("1e9"):
        raise InvalidInput(f"{field} must be below 10^9 with at most 3 decimal places")
    return value


def create_stock_item(
    *, session: Session, tenant_id: uuid.UUID, data: NewStockItem, actor: Actor
) -> StockItem:
    location = session.scalar(
        select(Location.id).where(Location.tenant_id == tenant_id, Location.id == data.location_id)
    )
    if location is None:
        raise InvalidInput("location_id does not name a location of this tenant")
    code, display = _clinical_drug(data.medication_system, data.medication_code)
    existing = session.scalar(
        select(StockItem.id).where(
            StockItem.tenant_id == tenant_id,
            StockItem.location_id == data.location_id,
            StockItem.medication_code == code,
        )
    )
    if existing is not None:
        raise Conflict("this location already stocks this medication")
    item = StockItem(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        location_id=data.location_id,
        medication_system=RXNORM,
        medication_code=code,
        medication_display=display,
        unit=sig.unit(data.unit, "unit") if data.unit else "{each}",
        reorder_threshold=_amount(data.reorder_threshold, "reorder_threshold", zero=True),
    )
    session.add(item)
    session.flush()
    _audit(session, actor, tenant_id, "stock_item.create", item.id, medication=code)
    return item


def get_stock_item(
    *, session: Session, tenant_id: uuid.UUID, stock_item_id: uuid.UUID
) -> StockItem:
    item = session.scalar(
        select(StockItem).where(StockItem.tenant_id == tenant_id, StockItem.id == stock_item_id)
    )
    if item is None:
        raise NotFound("stock item not found")
    return item


def set_reorder_threshold(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    stock_item_id: uuid.UUID,
    threshold: Decimal,
    actor: Actor,
) -> StockItem:
    item = get_stock_item(session=session, tenant_id=tenant_id, stock_item_id=stock_item_id)
    item.reorder_threshold = _amount(threshold, "reorder_threshold", zero=True)
    session.flush()
    _audit(session, actor, tenant_id, "stock_item.update", item.id)
    return item


def receive(*, session: Session, tenant_id: uuid.UUID, data: Receipt, actor: Actor) -> StockLot:
    """Add a lot (or top up a lot already on the shelf with the same number and expiry)."""
    quantity = _amount(data.quantity, "quantity")
    lot_number = (data.lot_number or "").strip()
    if not lot_number or len(lot_number) > 64:
        raise InvalidInput("lot_number must be 1 to 64 characters")
    if data.expiry_date <= today():
        raise InvalidInput("expiry_date must be in the future: expired stock is not received")
    if data.stock_item_id is not None:
        item = get_stock_item(
            session=session, tenant_id=tenant_id, stock_item_id=data.stock_item_id
        )
    elif data.location_id and data.medication_code:
        code, _ = _clinical_drug(data.medication_system or RXNORM, data.medication_code)
        found = session.scalar(
            select(StockItem).where(
                StockItem.tenant_id == tenant_id,
                StockItem.location_id == data.location_id,
                StockItem.medication_code == code,
            )
        )
        item = found or create_stock_item(
            session=session,
            tenant_id=tenant_id,
            data=NewStockItem(
                location_id=data.location_id,
                medication_system=RXNORM,
                medication_code=code,
                unit=data.unit,
                reorder_threshold=data.reorder_threshold or Decimal(0),
            ),
            actor=actor,
        )
    else:
        raise InvalidInput("name a stock_item_id, or a location_id and a medication")
    if data.unit and sig.unit(data.unit, "unit") != item.unit:
        raise InvalidInput("unit differs from the stock item's unit")
    lot = session.scalar(
        select(StockLot)
        .where(
            StockLot.tenant_id == tenant_id,
            StockLot.stock_item_id == item.id,
            StockLot.lot_number == lot_number,
        )
        .with_for_update()
    )
    if lot is None:
        lot = StockLot(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            stock_item_id=item.id,
            lot_number=lot_number,
            expiry_date=data.expiry_date,
            quantity_on_hand=quantity,
        )
        session.add(lot)
    elif lot.expiry_date != data.expiry_date:
        raise Conflict("this lot number is already on the shelf with another expiry date")
    else:
        lot.quantity_on_hand += quantity
    session.flush()
    session.add(
        StockMovement(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            stock_item_id=item.id,
            lot_id=lot.id,
            kind="receive",
            quantity=quantity,
            actor_user_id=actor.user_id,
        )
    )
    session.flush()
    _audit(
        session,
        actor,
        tenant_id,
        "stock.receive",
        lot.id,
        medication=item.medication_code,
        quantity=str(quantity),
    )
    return lot


def lots_of(
    *, session: Session, tenant_id: uuid.UUID, stock_item_id: uuid.UUID, include_empty: bool = False
) -> list[StockLot]:
    query = select(StockLot).where(
        StockLot.tenant_id == tenant_id, StockLot.stock_item_id == stock_item_id
    )
    if not include_empty:
        query = query.where(StockLot.quantity_on_hand > 0)
    return list(session.scalars(query.order_by(StockLot.expiry_date, StockLot.received_at)))


def _on_hand_query(tenant_id: uuid.UUID, on: date) -> Select[StockItem, Decimal]:
    usable = func.coalesce(func.sum(StockLot.quantity_on_hand), 0)
    return (
        select(StockItem, usable.label("on_hand"))
        .outerjoin(
            StockLot,
            and_(
                StockLot.tenant_id == StockItem.tenant_id,
                StockLot.stock_item_id == StockItem.id,
                StockLot.expiry_date >= on,
            ),
        )
        .where(StockItem.tenant_id == tenant_id)
        .group_by(StockItem.id)
    )


def stock_levels(
    *, session: Session, tenant_id: uuid.UUID, location_id: uuid.UUID | None = None
) -> list[StockLevel]:
    query = _on_hand_query(tenant_id, today())
    if location_id is not None:
        query = query.where(StockItem.location_id == location_id)
    rows = session.execute(query.order_by(StockItem.medication_display, StockItem.id))
    return [StockLevel(row[0], Decimal(row[1])) for row in rows]


def on_hand(*, session: Session, tenant_id: uuid.UUID, stock_item_id: uuid.UUID) -> Decimal:
    query = _on_hand_query(tenant_id, today()).where(StockItem.id == stock_item_id)
    row = session.execute(query).first()
    return Decimal(row[1]) if row else Decimal(0)


def reorder_alerts(
    *, session: Session, tenant_id: uuid.UUID, location_id: uuid.UUID | None = None
) -> list[StockLevel]:
    """Items whose unexpired quantity on hand is at or below their reorder threshold."""
    query = _on_hand_query(tenant_id, today())
    if location_id is not None:
        query = query.where(StockItem.location_id == location_id)
    usable = func.coalesce(func.sum(StockLot.quantity_on_hand), 0)
    query = query.having(usable <= StockItem.reorder_threshold)
    rows = session.execute(query.order_by(StockItem.medication_display, StockItem.id))
    return [StockLevel(row[0], Decimal(row[1])) for row in rows]
