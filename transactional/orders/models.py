"""Lab and imaging orders, lab results and imaging reports. Codes always carry their system.

The database enforces what must never happen whoever writes: an order's status moves only
along its workflow, results are inserted only on an order whose specimen is collected,
a stored result changes only by being superseded or entered in error, and a final report
never changes (triggers of migration 0009).
"""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Computed,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column

from transactional.base import Base
from transactional.lineage import data_source_column, data_source_known
from transactional.patients.models import PatientOwned

CATEGORIES = ("laboratory", "imaging")
PRIORITIES = ("routine", "urgent", "asap", "stat")
ORDER_STATUSES = ("active", "specimen_collected", "resulted", "cancelled", "entered_in_error")
RESULT_STATUSES = ("preliminary", "final")
SPECIMEN_TYPES = (
    "blood",
    "serum",
    "plasma",
    "urine",
    "stool",
    "cerebrospinal_fluid",
    "saliva",
    "buccal_swab",
    "nasopharyngeal_swab",
    "tissue",
)
LAB_RESULT_STATUSES = ("preliminary", "final", "superseded", "entered_in_error")
ABNORMAL_FLAGS = ("N", "L", "H", "LL", "HH", "A")
REPORT_STATUSES = ("draft", "final")
REPORT_KINDS = ("original", "correction", "addendum")
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _fk(columns: list[str], table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", *columns], [f"{table}.tenant_id", f"{table}.id"])


# stat first: the worklist sorts on this rank, from an index.
_PRIORITY_RANK = (
    "CASE priority WHEN 'stat' THEN 0 WHEN 'asap' THEN 1 WHEN 'urgent' THEN 2 ELSE 3 END"
)


class Order(PatientOwned, Base):
    """A lab or imaging order (FHIR ServiceRequest) and its specimen collection.

    An imported order (`data_source` set) stands for a result its source recorded without
    the order: it is collected and resulted, and its specimen type may be unknown."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        _fk(["patient_id"], "patients"),
        _fk(["encounter_id"], "encounters"),
        _fk(["practitioner_id"], "practitioners"),
        CheckConstraint(_in("category", CATEGORIES), name="category_known"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority_known"),
        CheckConstraint(_in("status", ORDER_STATUSES), name="status_known"),
        CheckConstraint(
            "result_status IS NULL OR " + _in("result_status", RESULT_STATUSES),
            name="result_status_known",
        ),
        CheckConstraint(
            f"(category = 'laboratory' AND code_system = '{LOINC}') OR "
            f"(category = 'imaging' AND code_system IN ('{LOINC}', '{CPT}'))",
            name="code_system_fits_category",
        ),
        CheckConstraint(
            "(reason_system IS NULL) = (reason_code IS NULL)", name="reason_coded_with_system"
        ),
        CheckConstraint(
            "specimen_type IS NULL OR " + _in("specimen_type", SPECIMEN_TYPES),
            name="specimen_type_known",
        ),
        CheckConstraint(
            "(specimen_type IS NULL) = (collected_at IS NULL)"
            " OR (data_source IS NOT NULL AND collected_at IS NOT NULL)",
            name="specimen_has_collection_time",
        ),
        data_source_known(),
        CheckConstraint(
            "category = 'laboratory' OR specimen_type IS NULL", name="specimen_only_laboratory"
        ),
        CheckConstraint(
            "category <> 'laboratory' OR status NOT IN ('specimen_collected', 'resulted') "
            "OR collected_at IS NOT NULL",
            name="lab_result_needs_specimen",
        ),
        CheckConstraint(
            "status <> 'resulted' OR (result_status IS NOT NULL AND resulted_at IS NOT NULL)",
            name="resulted_has_result_status",
        ),
        CheckConstraint(
            "result_status IS NULL OR status IN ('resulted', 'entered_in_error')",
            name="result_status_only_when_resulted",
        ),
        CheckConstraint(
            "(status IN ('cancelled', 'entered_in_error')) = "
            "(closed_at IS NOT NULL AND closed_reason IS NOT NULL)",
            name="closed_has_reason",
        ),
        Index(
            "ix_orders_worklist",
            "tenant_id",
            "status",
            "category",
            "priority_rank",
            "ordered_at",
            "id",
        ),
        Index("ix_orders_tenant_id_patient_id_ordered_at", "tenant_id", "patient_id", "ordered_at"),
    )

    encounter_id: Mapped[uuid.UUID | None]
    practitioner_id: Mapped[uuid.UUID]
    category: Mapped[str] = mapped_column(String(16))
    code_system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32))
    display: Mapped[str | None] = mapped_column(String(300))
    priority: Mapped[str] = mapped_column(String(8))
    priority_rank: Mapped[int] = mapped_column(
        SmallInteger, Computed(_PRIORITY_RANK, persisted=True)
    )
    reason_system: Mapped[str | None] = mapped_column(String(200))
    reason_code: Mapped[str | None] = mapped_column(String(32))
    reason_display: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20))
    result_status: Mapped[str | None] = mapped_column(String(12))
    ordered_at: Mapped[datetime]
    ordered_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    specimen_type: Mapped[str | None] = mapped_column(String(24))
    collected_at: Mapped[datetime | None]
    collected_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    resulted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    closed_reason: Mapped[str | None] = mapped_column(String(500))
    data_source: Mapped[str | None] = data_source_column()


class LabResult(PatientOwned, Base):
    """One result of a lab order (FHIR Observation, category laboratory).

    Numeric values are stored in the test's canonical UCUM unit; qualitative values as a
    coded answer, free text, or both. The reference interval and critical limits used for
    the flag are stored with it, with the catalog version they came from.
    """

    __tablename__ = "lab_results"
    __table_args__ = (
        _fk(["patient_id"], "patients"),
        _fk(["order_id"], "orders"),
        CheckConstraint(f"code_system = '{LOINC}'", name="code_is_loinc"),
        CheckConstraint(_in("status", LAB_RESULT_STATUSES), name="status_known"),
        CheckConstraint(
            "abnormal_flag IS NULL OR " + _in("abnormal_flag", ABNORMAL_FLAGS), name="flag_known"
        ),
        CheckConstraint("(value IS NULL) = (unit IS NULL)", name="value_has_unit"),
        CheckConstraint(
            "(value_code IS NULL) = (value_code_system IS NULL)", name="value_code_has_system"
        ),
        CheckConstraint(
            "value IS NOT NULL OR value_code IS NOT NULL OR value_text IS NOT NULL",
            name="has_a_value",
        ),
        CheckConstraint(
            "value IS NULL OR (value_code IS NULL AND value_text IS NULL)",
            name="numeric_or_qualitative",
        ),
        CheckConstraint(
            "abnormal_flag IS NULL OR abnormal_flag = 'N' "
            "OR (abnormal_flag = 'A') = (value IS NULL)",
            name="flag_fits_value",
        ),
        CheckConstraint(
            "reference_low IS NULL OR reference_high IS NULL OR reference_low <= reference_high",
            name="reference_range_ordered",
        ),
        Index(
            "uq_lab_results_current_per_test",
            "tenant_id",
            "order_id",
            "code",
            unique=True,
            postgresql_where=sql("status IN ('preliminary', 'final')"),
        ),
        Index("ix_lab_results_tenant_id_patient_id_code", "tenant_id", "patient_id", "code"),
        Index("ix_lab_results_tenant_id_order_id", "tenant_id", "order_id"),
    )

    order_id: Mapped[uuid.UUID]
    code_system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32))
    display: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    value: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    unit: Mapped[str | None] = mapped_column(String(40))
    value_code_system: Mapped[str | None] = mapped_column(String(200))
    value_code: Mapped[str | None] = mapped_column(String(32))
    value_display: Mapped[str | None] = mapped_column(String(300))
    value_text: Mapped[str | None] = mapped_column(String(2000))
    reference_low: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    reference_high: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    critical_low: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    critical_high: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    abnormal_flag: Mapped[str | None] = mapped_column(String(2))
    interpretation: Mapped[str | None] = mapped_column(String(1000))
    catalog_version: Mapped[str] = mapped_column(String(16))
    effective_at: Mapped[datetime]
    issued_at: Mapped[datetime]
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class ImagingReport(PatientOwned, Base):
    """One version of an imaging order's report.

    A final version never changes (a trigger refuses it); a correction replaces the text as a
    new version, an addendum adds to it, both with a reason.
    """

    __tablename__ = "imaging_reports"
    __table_args__ = (
        _fk(["patient_id"], "patients"),
        _fk(["order_id"], "orders"),
        UniqueConstraint("tenant_id", "order_id", "version"),
        CheckConstraint(_in("status", REPORT_STATUSES), name="status_known"),
        CheckConstraint(_in("kind", REPORT_KINDS), name="kind_known"),
        CheckConstraint("(version = 1) = (kind = 'original')", name="first_version_is_original"),
        CheckConstraint("kind = 'original' OR reason IS NOT NULL", name="revision_has_reason"),
        CheckConstraint(
            "(status = 'final') = (signed_at IS NOT NULL AND signed_by IS NOT NULL)",
            name="final_has_signer",
        ),
        Index(
            "uq_imaging_reports_one_draft",
            "tenant_id",
            "order_id",
            unique=True,
            postgresql_where=sql("status = 'draft'"),
        ),
    )

    order_id: Mapped[uuid.UUID]
    version: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(500))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None]
    signed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
