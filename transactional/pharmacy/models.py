"""Pharmacy stock per location: items, lots with expiry, and the movement ledger."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from transactional.base import Base, TenantOwned, utcnow

MOVEMENT_KINDS = ("receive", "dispense")


def _fk(columns: list[str], table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", *columns], [f"{table}.tenant_id", f"{table}.id"])


class StockItem(TenantOwned, Base):
    """One drug product (an RxNorm clinical drug) stocked at one location."""

    __tablename__ = "stock_items"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "location_id", "medication_code"),
        _fk(["location_id"], "locations"),
        CheckConstraint("reorder_threshold >= 0", name="threshold_not_negative"),
    )

    location_id: Mapped[uuid.UUID]
    medication_system: Mapped[str] = mapped_column(String(200))
    medication_code: Mapped[str] = mapped_column(String(32))
    medication_display: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(40))
    reorder_threshold: Mapped[Decimal] = mapped_column(Numeric(12, 3), default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StockLot(TenantOwned, Base):
    """A manufacturer's lot of a stock item. The database refuses a negative quantity on
    hand, so no race can ever dispense stock that is not there."""

    __tablename__ = "stock_lots"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "stock_item_id", "lot_number"),
        _fk(["stock_item_id"], "stock_items"),
        CheckConstraint("quantity_on_hand >= 0", name="on_hand_not_negative"),
        Index(
            "ix_stock_lots_tenant_id_stock_item_id_expiry_date",
            "tenant_id",
            "stock_item_id",
            "expiry_date",
        ),
    )

    stock_item_id: Mapped[uuid.UUID]
    lot_number: Mapped[str] = mapped_column(String(64))
    expiry_date: Mapped[date] = mapped_column(Date)
    quantity_on_hand: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StockMovement(TenantOwned, Base):
    """Append-only ledger: every receipt into and dispense out of a lot."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        _fk(["stock_item_id"], "stock_items"),
        _fk(["lot_id"], "stock_lots"),
        _fk(["prescription_id"], "prescriptions"),
        _fk(["patient_id"], "patients"),
        CheckConstraint(
            "kind IN (" + ", ".join(repr(k) for k in MOVEMENT_KINDS) + ")", name="kind_known"
        ),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "(kind = 'dispense') = (prescription_id IS NOT NULL AND patient_id IS NOT NULL)",
            name="dispense_has_prescription",
        ),
        Index("ix_stock_movements_tenant_id_prescription_id", "tenant_id", "prescription_id"),
    )

    stock_item_id: Mapped[uuid.UUID]
    lot_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    prescription_id: Mapped[uuid.UUID | None]
    patient_id: Mapped[uuid.UUID | None]
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
