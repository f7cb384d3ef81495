import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import Field

from api.schemas.base import RequestModel, ResponseModel
from api.schemas.coding import Coding, CodingOut
from api.schemas.prescriptions import Amount


class StockItemCreate(RequestModel):
    location_id: uuid.UUID
    medication: Coding = Field(description="RxNorm clinical drug (SCD) kept in stock")
    unit: str | None = Field(default=None, max_length=40, description="e.g. tablet, mL")
    reorder_threshold: Decimal = Decimal(0)


class StockItemUpdate(RequestModel):
    reorder_threshold: Decimal


class ReceiveIn(RequestModel):
    """Into a stock item by id, or into (location, medication), created on first receipt."""

    stock_item_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    medication: Coding | None = None
    lot_number: str = Field(min_length=1, max_length=64)
    expiry_date: date
    quantity: Decimal
    unit: str | None = Field(default=None, max_length=40)
    reorder_threshold: Decimal | None = None


class DispenseIn(RequestModel):
    prescription_id: uuid.UUID
    quantity: Decimal
    lot_id: uuid.UUID | None = Field(default=None, description="Default: first expiry first out")
    location_id: uuid.UUID | None = None


class LotOut(ResponseModel):
    id: uuid.UUID
    stock_item_id: uuid.UUID
    lot_number: str
    expiry_date: date
    quantity_on_hand: Amount
    expired: bool
    received_at: datetime


class StockItemOut(ResponseModel):
    id: uuid.UUID
    location_id: uuid.UUID
    medication: CodingOut
    unit: str
    reorder_threshold: Amount
    on_hand: Amount = Field(description="Unexpired quantity on hand")
    lots: list[LotOut] | None = None


class ReorderAlertOut(ResponseModel):
    stock_item_id: uuid.UUID
    location_id: uuid.UUID
    medication: CodingOut
    unit: str
    on_hand: Amount
    reorder_threshold: Amount


class DispensedLotOut(ResponseModel):
    lot_id: uuid.UUID
    lot_number: str
    expiry_date: date
    quantity: Amount


class DispenseOut(ResponseModel):
    prescription_id: uuid.UUID
    status: str
    quantity: Amount
    dispensed_quantity: Amount
    remaining_quantity: Amount
    stock_item_id: uuid.UUID
    lots: list[DispensedLotOut]
