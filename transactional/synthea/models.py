"""What was imported from which Synthea file: the key of each source row and its row here."""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from transactional.base import Base, TenantOwned, utcnow


class SourceKey(TenantOwned, Base):
    """One imported row of a Synthea file and the row it became.

    `source_key` is the row's Synthea id where the file has one, else the columns that
    identify it (patient, encounter, code, start). A source row whose key is recorded is
    already present: importing the same files again writes nothing. A row represented by
    another (a TRANSFEROUT by its TRANSFERIN) is recorded without a target.
    """

    __tablename__ = "synthea_source_keys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "file", "source_key"),
        CheckConstraint("(target_table IS NULL) = (target_id IS NULL)", name="target_whole"),
    )

    file: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(String(200))
    target_table: Mapped[str | None] = mapped_column(String(63))
    target_id: Mapped[uuid.UUID | None]
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
