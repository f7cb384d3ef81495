"""Prescriptions and the safety findings recorded when they were signed."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from transactional.base import Base, TenantOwned, utcnow
from transactional.lineage import data_source_column, data_source_known, unless_imported
from transactional.medications.types import FindingKind, PrescriptionStatus, Severity
from transactional.patients.models import PatientOwned

STATUSES = tuple(s.value for s in PrescriptionStatus)
SEVERITIES = tuple(s.value for s in Severity)
FINDING_KINDS = tuple(k.value for k in FindingKind)
TERM_TYPES = ("IN", "SCD", "SBD", "BPCK", "GPCK")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _fk(columns: list[str], table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", *columns], [f"{table}.tenant_id", f"{table}.id"])


class Prescription(PatientOwned, Base):
    """A medication order. Who did what and when is kept per workflow step; the database
    refuses a status without its step's fields and a dispensed total above what was
    prescribed (quantity x (1 + refills)).

    An imported order (`data_source` set) may lack the dose, route and frequency and the
    signing user: its source recorded the drug and its dates, not the instructions."""

    __tablename__ = "prescriptions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        _fk(["patient_id"], "patients"),
        _fk(["prescriber_id"], "practitioners"),
        _fk(["encounter_id"], "encounters"),
        CheckConstraint(_in("status", STATUSES), name="status_known"),
        CheckConstraint(_in("medication_tty", TERM_TYPES), name="tty_known"),
        CheckConstraint("cardinality(ingredient_codes) >= 1", name="has_ingredients"),
        CheckConstraint("dose_value > 0", name="dose_positive"),
        CheckConstraint("frequency_per_day IS NULL OR frequency_per_day > 0", name="per_day"),
        CheckConstraint("duration_days IS NULL OR duration_days BETWEEN 1 AND 3650", name="days"),
        CheckConstraint("quantity IS NULL OR quantity > 0", name="quantity_positive"),
        CheckConstraint("refills BETWEEN 0 AND 99", name="refills_range"),
        CheckConstraint("dispensed_quantity >= 0", name="dispensed_not_negative"),
        CheckConstraint(
            "dispensed_quantity = 0 OR dispensed_quantity <= quantity * (1 + refills)",
            name="dispensed_within_prescribed",
        ),
        CheckConstraint("status <> 'draft' OR signed_at IS NULL", name="draft_unsigned"),
        CheckConstraint(
            "status IN ('draft', 'cancelled') OR (signed_at IS NOT NULL"
            " AND (signed_by IS NOT NULL OR data_source IS NOT NULL))",
            name="signed_unless_draft",
        ),
        data_source_known(),
        CheckConstraint(
            unless_imported(
                "dose_value IS NOT NULL AND dose_unit IS NOT NULL AND route_system IS NOT NULL"
                " AND route_code IS NOT NULL AND route_display IS NOT NULL"
                " AND frequency_code IS NOT NULL AND frequency_display IS NOT NULL"
            ),
            name="has_instructions",
        ),
        CheckConstraint("status <> 'sent' OR sent_at IS NOT NULL", name="sent_has_time"),
        CheckConstraint(
            "status <> 'cancelled' OR (cancelled_at IS NOT NULL AND cancel_reason IS NOT NULL)",
            name="cancel_has_reason",
        ),
        CheckConstraint(
            "status <> 'stopped' OR (stopped_at IS NOT NULL AND stop_reason IS NOT NULL)",
            name="stop_has_reason",
        ),
        CheckConstraint(
            "status NOT IN ('partially_dispensed', 'dispensed') OR dispensed_quantity > 0",
            name="dispensed_has_quantity",
        ),
        CheckConstraint(
            "override_reason IS NULL OR (overridden_by IS NOT NULL AND overridden_at IS NOT NULL)",
            name="override_has_user",
        ),
        Index("ix_prescriptions_tenant_id_patient_id_status", "tenant_id", "patient_id", "status"),
    )

    medication_system: Mapped[str] = mapped_column(String(200))
    medication_code: Mapped[str] = mapped_column(String(32))
    medication_display: Mapped[str] = mapped_column(String(300))
    medication_tty: Mapped[str] = mapped_column(String(8))
    ingredient_codes: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    dose_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    dose_unit: Mapped[str | None] = mapped_column(String(40))
    route_system: Mapped[str | None] = mapped_column(String(200))
    route_code: Mapped[str | None] = mapped_column(String(32))
    route_display: Mapped[str | None] = mapped_column(String(300))
    frequency_code: Mapped[str | None] = mapped_column(String(16))
    frequency_display: Mapped[str | None] = mapped_column(String(100))
    frequency_per_day: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    as_needed: Mapped[bool] = mapped_column(default=False)
    duration_days: Mapped[int | None] = mapped_column(SmallInteger)
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    quantity_unit: Mapped[str | None] = mapped_column(String(40))
    refills: Mapped[int] = mapped_column(SmallInteger, default=0)
    dispensed_quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3), default=Decimal(0))
    prescriber_id: Mapped[uuid.UUID | None]
    encounter_id: Mapped[uuid.UUID | None]
    indication_system: Mapped[str | None] = mapped_column(String(200))
    indication_code: Mapped[str | None] = mapped_column(String(32))
    indication_display: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24))
    knowledge_version: Mapped[str | None] = mapped_column(String(16))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None]
    signed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[datetime | None]
    sent_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    stopped_at: Mapped[datetime | None]
    stopped_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    stop_reason: Mapped[str | None] = mapped_column(String(500))
    override_reason: Mapped[str | None] = mapped_column(String(500))
    overridden_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    overridden_at: Mapped[datetime | None]
    last_dispensed_at: Mapped[datetime | None]
    data_source: Mapped[str | None] = data_source_column()


class PrescriptionFinding(TenantOwned, Base):
    """A finding of the check that ran when the prescription was signed: stored whether it
    was shown as a warning or overridden, so the decision can be reviewed later."""

    __tablename__ = "prescription_findings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "prescription_id"],
            ["prescriptions.tenant_id", "prescriptions.id"],
            name="fk_prescription_findings_prescription",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "interacting_prescription_id"],
            ["prescriptions.tenant_id", "prescriptions.id"],
            name="fk_prescription_findings_interacting_prescription",
        ),
        CheckConstraint(_in("kind", FINDING_KINDS), name="kind_known"),
        CheckConstraint(_in("severity", SEVERITIES), name="severity_known"),
        CheckConstraint("NOT overridden OR severity = 'critical'", name="only_critical_overridden"),
        Index("ix_prescription_findings_tenant_id_prescription_id", "tenant_id", "prescription_id"),
    )

    prescription_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(10))
    rule_id: Mapped[str] = mapped_column(String(64))
    drug_code: Mapped[str] = mapped_column(String(16))
    drug_display: Mapped[str] = mapped_column(String(300))
    interacting_code: Mapped[str | None] = mapped_column(String(32))
    interacting_display: Mapped[str | None] = mapped_column(String(300))
    interacting_prescription_id: Mapped[uuid.UUID | None]
    allergy_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("allergies.id"))
    allergy_substance_system: Mapped[str | None] = mapped_column(String(200))
    allergy_substance_code: Mapped[str | None] = mapped_column(String(64))
    allergy_substance_display: Mapped[str | None] = mapped_column(String(300))
    rationale: Mapped[str] = mapped_column(Text)
    management: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(500))
    overridden: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
