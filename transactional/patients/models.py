"""Patient demographics and what hangs directly off a patient record."""

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Computed,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from transactional.base import Base, TenantOwned, utcnow
from transactional.lineage import data_source_column, data_source_known, unless_imported

SEXES = ("male", "female", "other", "unknown")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Patient(TenantOwned, Base):
    __tablename__ = "patients"
    __table_args__ = (
        UniqueConstraint("tenant_id", "mrn"),
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint(_in("sex", SEXES), name="sex_known"),
        CheckConstraint("birth_date >= DATE '1880-01-01'", name="birth_date_plausible"),
        CheckConstraint(
            "deceased_date IS NULL OR deceased_date >= birth_date", name="deceased_after_birth"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "merged_into_id"], ["patients.tenant_id", "patients.id"]
        ),
        CheckConstraint(
            "merged_into_id IS NULL OR merged_into_id <> id", name="not_merged_into_self"
        ),
        Index(
            "ix_patients_search_name_trgm",
            "search_name",
            postgresql_using="gin",
            postgresql_ops={"search_name": "gin_trgm_ops"},
        ),
        Index("ix_patients_tenant_id_birth_date", "tenant_id", "birth_date"),
        Index("ix_patients_tenant_id_phone_digits", "tenant_id", "phone_digits"),
        Index("ix_patients_tenant_id_ssn_blind_index", "tenant_id", "ssn_blind_index"),
        Index(
            "ix_patients_tenant_id_family_name_given_name_id",
            "tenant_id",
            "family_name",
            "given_name",
            "id",
        ),
    )

    mrn: Mapped[str] = mapped_column(String(16))
    given_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    search_name: Mapped[str] = mapped_column(
        String(202),
        Computed(
            "lower(translate(family_name || ' ' || given_name, '-''\u2019.', ' '))", persisted=True
        ),
    )
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(16))
    gender_identity: Mapped[str | None] = mapped_column(String(64))
    race: Mapped[str | None] = mapped_column(String(64))
    ethnicity: Mapped[str | None] = mapped_column(String(64))
    preferred_language: Mapped[str | None] = mapped_column(String(35))
    phone: Mapped[str | None] = mapped_column(String(32))
    phone_digits: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(50))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    emergency_contact_name: Mapped[str | None] = mapped_column(String(200))
    emergency_contact_relationship: Mapped[str | None] = mapped_column(String(50))
    emergency_contact_phone: Mapped[str | None] = mapped_column(String(32))
    ssn_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    ssn_blind_index: Mapped[str | None] = mapped_column(String(64))
    ssn_last4: Mapped[str | None] = mapped_column(String(4))
    deceased_date: Mapped[date | None] = mapped_column(Date)
    is_deleted: Mapped[bool] = mapped_column(default=False)
    deleted_at: Mapped[datetime | None]
    merged_into_id: Mapped[uuid.UUID | None]
    merged_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    # Optimistic locking, and a per-row version for change capture downstream.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own hook

    identifiers: Mapped[list["PatientIdentifier"]] = relationship(
        lazy="selectin", order_by="PatientIdentifier.system", viewonly=True
    )


class PatientOwned(TenantOwned):
    """A row that belongs to one patient; the composite key keeps it in the patient's tenant."""

    patient_id: Mapped[uuid.UUID] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _patient_fk(table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "patient_id"],
        ["patients.tenant_id", "patients.id"],
        name=f"fk_{table}_patient",
    )


class PatientIdentifier(PatientOwned, Base):
    """An external identifier (driver's licence, passport, another system's MRN...)."""

    __tablename__ = "patient_identifiers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "system", "value"),
        _patient_fk("patient_identifiers"),
    )

    system: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(100))
    type_code: Mapped[str | None] = mapped_column(String(20))


PAYER_TYPES = ("commercial", "medicare", "medicaid", "self_pay", "workers_comp", "other")


class Payer(TenantOwned, Base):
    __tablename__ = "payers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint(_in("payer_type", PAYER_TYPES), name="payer_type_known"),
    )

    name: Mapped[str] = mapped_column(String(200))
    payer_type: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


RELATIONSHIPS = ("self", "spouse", "child", "other")
COVERAGE_STATUSES = ("active", "cancelled")


class Coverage(PatientOwned, Base):
    __tablename__ = "coverages"
    __table_args__ = (
        _patient_fk("coverages"),
        ForeignKeyConstraint(["tenant_id", "payer_id"], ["payers.tenant_id", "payers.id"]),
        CheckConstraint("priority BETWEEN 1 AND 9", name="priority_range"),
        CheckConstraint("period_end IS NULL OR period_end >= period_start", name="period_ordered"),
        CheckConstraint(_in("subscriber_relationship", RELATIONSHIPS), name="relationship_known"),
        CheckConstraint(_in("status", COVERAGE_STATUSES), name="status_known"),
    )

    payer_id: Mapped[uuid.UUID]
    member_id: Mapped[str] = mapped_column(String(64))
    group_number: Mapped[str | None] = mapped_column(String(64))
    plan_name: Mapped[str | None] = mapped_column(String(200))
    subscriber_relationship: Mapped[str] = mapped_column(String(10), default="self")
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    priority: Mapped[int] = mapped_column(SmallInteger, default=1)
    status: Mapped[str] = mapped_column(String(10), default="active")


ALLERGY_SEVERITIES = ("mild", "moderate", "severe")
ALLERGY_STATUSES = ("active", "inactive", "resolved", "entered_in_error")
ALLERGY_CATEGORIES = ("medication", "food", "environment", "biologic")


class Allergy(PatientOwned, Base):
    """An allergy or intolerance; the substance always carries its code system.

    An imported allergy (`data_source` set) may have no severity: its source recorded no
    reaction to grade."""

    __tablename__ = "allergies"
    __table_args__ = (
        _patient_fk("allergies"),
        CheckConstraint(_in("severity", ALLERGY_SEVERITIES), name="severity_known"),
        CheckConstraint(_in("status", ALLERGY_STATUSES), name="status_known"),
        CheckConstraint(
            "category IS NULL OR " + _in("category", ALLERGY_CATEGORIES), name="category_known"
        ),
        data_source_known(),
        CheckConstraint(unless_imported("severity IS NOT NULL"), name="graded_unless_imported"),
    )

    substance_system: Mapped[str] = mapped_column(String(200))
    substance_code: Mapped[str] = mapped_column(String(64))
    substance_display: Mapped[str | None] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(20))
    severity: Mapped[str | None] = mapped_column(String(10))
    reaction: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="active")
    onset_date: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    data_source: Mapped[str | None] = data_source_column()
