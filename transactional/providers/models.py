"""Departments, locations and practitioners: who sees patients, and where."""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from transactional.base import Base, TenantOwned, utcnow

NUCC_TAXONOMY_SYSTEM = "http://nucc.org/provider-taxonomy"


class Department(TenantOwned, Base):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("tenant_id", "name"), UniqueConstraint("tenant_id", "id"))

    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Location(TenantOwned, Base):
    """A clinic site or room. Working hours at a location are local to its IANA time zone."""

    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("tenant_id", "name"), UniqueConstraint("tenant_id", "id"))

    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Practitioner(TenantOwned, Base):
    """A clinician who can be booked.

    `specialty_codes` are NUCC Health Care Provider Taxonomy codes (the code set NPPES uses,
    system `NUCC_TAXONOMY_SYSTEM`), e.g. 207Q00000X for family medicine.
    """

    __tablename__ = "practitioners"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "npi"),
        UniqueConstraint("tenant_id", "user_id"),
        ForeignKeyConstraint(
            ["tenant_id", "department_id"], ["departments.tenant_id", "departments.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        CheckConstraint("npi ~ '^[0-9]{10}$'", name="npi_format"),
    )

    display_name: Mapped[str] = mapped_column(String(200))
    npi: Mapped[str | None] = mapped_column(String(10))
    specialty_codes: Mapped[list[str]] = mapped_column(ARRAY(String(10)), default=list)
    department_id: Mapped[uuid.UUID | None]
    user_id: Mapped[uuid.UUID | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
