"""The change log that capture triggers (migration 0013) append to; identifiers only."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Identity, String, text
from sqlalchemy.orm import Mapped, mapped_column

from transactional.base import Base


class ChangeRecord(Base):
    """One written row of a captured table: who (transaction), where (table, tenant, row), how.

    Not tenant-owned and not under row-level security: the app role has no privilege on it at
    all, and it holds no row contents.
    """

    __tablename__ = "change_log"
    __table_args__ = (CheckConstraint("op IN ('I', 'U', 'D')", name="op_known"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    txid: Mapped[int] = mapped_column(BigInteger, index=True)
    table_name: Mapped[str] = mapped_column(String(63))
    tenant_id: Mapped[uuid.UUID]
    row_id: Mapped[uuid.UUID]
    op: Mapped[str] = mapped_column(String(1))
    changed_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))


class Checkpoint(Base):
    """How far one warehouse has applied the change log (migration 0017)."""

    __tablename__ = "checkpoints"
    __table_args__ = (
        CheckConstraint("watermark >= 0", name="watermark_positive"),
        {"schema": "replication"},
    )

    destination: Mapped[str] = mapped_column(String(64), primary_key=True)
    watermark: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))
