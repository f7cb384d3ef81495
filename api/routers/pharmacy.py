"""Pharmacy: stock items and lots per location, receiving, dispensing, reorder alerts."""

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy.orm import Session

from api.deps import Principal, SessionDep, require
from api.schemas.coding import CodingOut
from api.schemas.pharmacy import (
    DispensedLotOut,
    DispenseIn,
    DispenseOut,
    LotOut,
    ReceiveIn,
    ReorderAlertOut,
    StockItemCreate,
    StockItemOut,
    StockItemUpdate,
)
from transactional.identity.roles import Permission
from transactional.pharmacy import dispensing, stock
from transactional.pharmacy.models import StockItem, StockLot

router = APIRouter(prefix="/api/v1/pharmacy", tags=["pharmacy"])

Stocker = Annotated[Principal, Depends(require(Permission.PHARMACY_STOCK))]
Dispenser = Annotated[Principal, Depends(require(Permission.PHARMACY_DISPENSE))]


def lot_out(lot: StockLot) -> LotOut:
    return LotOut(
        id=lot.id,
        stock_item_id=lot.stock_item_id,
        lot_number=lot.lot_number,
        expiry_date=lot.expiry_date,
        quantity_on_hand=lot.quantity_on_hand,
        expired=lot.expiry_date < stock.today(),
        received_at=lot.received_at,
    )


def item_out(item: StockItem, on_hand: Decimal, lots: list[StockLot] | None = None) -> StockItemOut:
    return StockItemOut(
        id=item.id,
        location_id=item.location_id,
        medication=CodingOut(
            system=item.medication_system,
            code=item.medication_code,
            display=item.medication_display,
        ),
        unit=item.unit,
        reorder_threshold=item.reorder_threshold,
        on_hand=on_hand,
        lots=[lot_out(lot) for lot in lots] if lots is not None else None,
    )


def _with_lots(session: Session, principal: Principal, item: StockItem) -> StockItemOut:
    tenant_id = principal.tenant_id
    return item_out(
        item,
        stock.on_hand(session=session, tenant_id=tenant_id, stock_item_id=item.id),
        stock.lots_of(session=session, tenant_id=tenant_id, stock_item_id=item.id),
    )


@router.post("/stock-items", response_model=StockItemOut, status_code=status.HTTP_201_CREATED)
def create_stock_item(
    body: StockItemCreate, principal: Stocker, session: SessionDep
) -> StockItemOut:
    item = stock.create_stock_item(
        session=session,
        tenant_id=principal.tenant_id,
        data=stock.NewStockItem(
            location_id=body.location_id,
            medication_system=body.medication.system,
            medication_code=body.medication.code,
            unit=body.unit,
            reorder_threshold=body.reorder_threshold,
        ),
        actor=principal.actor,
    )
    return item_out(item, Decimal(0), [])


@router.get("/stock-items", response_model=list[StockItemOut])
def list_stock_items(
    principal: Stocker, session: SessionDep, location_id: uuid.UUID | None = None
) -> list[StockItemOut]:
    levels = stock.stock_levels(
        session=session, tenant_id=principal.tenant_id, location_id=location_id
    )
    return [item_out(level.item, level.on_hand) for level in levels]


@router.get("/stock-items/{stock_item_id}", response_model=StockItemOut)
def read_stock_item(
    stock_item_id: uuid.UUID, principal: Stocker, session: SessionDep
) -> StockItemOut:
    item = stock.get_stock_item(
        session=session, tenant_id=principal.tenant_id, stock_item_id=stock_item_id
    )
    return _with_lots(session, principal, item)


@router.patch("/stock-items/{stock_item_id}", response_model=StockItemOut)
def update_stock_item(
    stock_item_id: uuid.UUID, body: StockItemUpdate, principal: Stocker, session: SessionDep
) -> StockItemOut:
    item = stock.set_reorder_threshold(
        session=session,
        tenant_id=principal.tenant_id,
        stock_item_id=stock_item_id,
        threshold=body.reorder_threshold,
        actor=principal.actor,
    )
    return _with_lots(session, principal, item)


@router.get("/stock-items/{stock_item_id}/lots", response_model=list[LotOut])
def list_lots(stock_item_id: uuid.UUID, principal: Stocker, session: SessionDep) -> list[LotOut]:
    item = stock.get_stock_item(
        session=session, tenant_id=principal.tenant_id, stock_item_id=stock_item_id
    )
    lots = stock.lots_of(
        session=session, tenant_id=principal.tenant_id, stock_item_id=item.id, include_empty=True
    )
    return [lot_out(lot) for lot in lots]


@router.post("/receive", response_model=LotOut, status_code=status.HTTP_201_CREATED)
def receive(body: ReceiveIn, principal: Stocker, session: SessionDep) -> LotOut:
    """Receive a lot into stock; a new (location, medication) pair gets its stock item."""
    lot = stock.receive(
        session=session,
        tenant_id=principal.tenant_id,
        data=stock.Receipt(
            lot_number=body.lot_number,
            expiry_date=body.expiry_date,
            quantity=body.quantity,
            stock_item_id=body.stock_item_id,
            location_id=body.location_id,
            medication_system=body.medication.system if body.medication else None,
            medication_code=body.medication.code if body.medication else None,
            unit=body.unit,
            reorder_threshold=body.reorder_threshold,
        ),
        actor=principal.actor,
    )
    return lot_out(lot)


@router.post("/dispense", response_model=DispenseOut, status_code=status.HTTP_201_CREATED)
def dispense(body: DispenseIn, principal: Dispenser, session: SessionDep) -> DispenseOut:
    """Dispense against an active, sent or partially dispensed prescription, first expiry
    first out unless `lot_id` names a lot."""
    result = dispensing.dispense(
        session=session,
        tenant_id=principal.tenant_id,
        request=dispensing.DispenseRequest(
            prescription_id=body.prescription_id,
            quantity=body.quantity,
            lot_id=body.lot_id,
            location_id=body.location_id,
        ),
        actor=principal.actor,
    )
    prescription = result.prescription
    allowed = (prescription.quantity or Decimal(0)) * (1 + prescription.refills)
    return DispenseOut(
        prescription_id=prescription.id,
        status=prescription.status,
        quantity=sum((p.quantity for p in result.portions), Decimal(0)),
        dispensed_quantity=prescription.dispensed_quantity,
        remaining_quantity=allowed - prescription.dispensed_quantity,
        stock_item_id=result.item.id,
        lots=[
            DispensedLotOut(
                lot_id=p.lot.id,
                lot_number=p.lot.lot_number,
                expiry_date=p.lot.expiry_date,
                quantity=p.quantity,
            )
            for p in result.portions
        ],
    )


@router.get("/reorder-alerts", response_model=list[ReorderAlertOut])
def reorder_alerts(
    principal: Stocker, session: SessionDep, location_id: uuid.UUID | None = None
) -> list[ReorderAlertOut]:
    """Items whose unexpired quantity on hand is at or below the reorder threshold."""
    levels = stock.reorder_alerts(
        session=session, tenant_id=principal.tenant_id, location_id=location_id
    )
    return [
        ReorderAlertOut(
            stock_item_id=level.item.id,
            location_id=level.item.location_id,
            medication=CodingOut(
                system=level.item.medication_system,
                code=level.item.medication_code,
                display=level.item.medication_display,
            ),
            unit=level.item.unit,
            on_hand=level.on_hand,
            reorder_threshold=level.item.reorder_threshold,
        )
        for level in levels
    ]
