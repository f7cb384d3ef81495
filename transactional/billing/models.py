"""Fee schedules, charges, invoices, claims, remittances, payments and adjustments.

Money is integer cents in BIGINT columns named `*_cents`. An invoice's totals are kept by
triggers on the ledger tables (charges, payments, adjustments; migration 0011) and the app
role may not write them, so they always equal the sums of the rows; its balance and status are
generated columns, and a CHECK keeps the balance from going below zero. Ledger rows are never
deleted or edited: a charge can only be voided, a payment or adjustment only added.
"""

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from transactional.base import Base, TenantOwned, utcnow
from transactional.billing.types import (
    AdjustmentKind,
    ChargeStatus,
    ClaimAction,
    ClaimStatus,
    FrequencyCode,
    GroupCode,
    PaymentMethod,
    PaymentSource,
    listed,
)
from transactional.lineage import data_source_column, data_source_known, unless_imported
from transactional.patients.models import PatientOwned

NIL_UUID = "00000000-0000-0000-0000-000000000000"
MAX_CENTS = 100_000_000
_NPI = "~ '^[0-9]{10}$'"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _fk(columns: list[str], table: str, targets: list[str] | None = None) -> ForeignKeyConstraint:
    """A key that includes the tenant, so a row can never point into another tenant."""
    return ForeignKeyConstraint(
        ["tenant_id", *columns], [f"{table}.{c}" for c in ["tenant_id", *(targets or ["id"])]]
    )


def _void_consistent() -> CheckConstraint:
    return CheckConstraint(
        "(voided_at IS NULL) = (void_reason IS NULL)", name="void_has_reason_and_time"
    )


class FeeSchedule(TenantOwned, Base):
    """Prices of one payer (or, without a payer, the default self-pay schedule) for a period.

    Periods of one payer never overlap (an exclusion constraint), so a service date has at
    most one schedule per payer.
    """

    __tablename__ = "fee_schedules"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        _fk(["payer_id"], "payers"),
        CheckConstraint(
            "effective_to IS NULL OR effective_to >= effective_from", name="period_ordered"
        ),
        ExcludeConstraint(
            ("tenant_id", "="),
            (func.coalesce(literal_column("payer_id"), literal_column(f"'{NIL_UUID}'::uuid")), "="),
            (
                func.daterange(
                    literal_column("effective_from"), literal_column("effective_to"), "[]"
                ),
                "&&",
            ),
            name="ex_fee_schedules_one_per_payer_and_day",
            using="gist",
        ),
    )

    payer_id: Mapped[uuid.UUID | None]
    name: Mapped[str] = mapped_column(String(200))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class FeeScheduleItem(TenantOwned, Base):
    __tablename__ = "fee_schedule_items"
    __table_args__ = (
        _fk(["fee_schedule_id"], "fee_schedules"),
        UniqueConstraint("tenant_id", "fee_schedule_id", "code_system", "code"),
        CheckConstraint(f"amount_cents BETWEEN 0 AND {MAX_CENTS}", name="amount_range"),
    )

    fee_schedule_id: Mapped[uuid.UUID]
    code_system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(BigInteger)


_BALANCE = "charges_cents - payments_cents - adjustments_cents"


class Invoice(PatientOwned, Base):
    """The account of one encounter: its charges and the money posted against them.

    `patient_responsibility_cents` is the part of the balance a payer assigned to the patient
    (deductible, coinsurance, copay); it moves who owes, not how much is owed.
    """

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "encounter_id"),
        _fk(["patient_id"], "patients"),
        _fk(["encounter_id"], "encounters"),
        CheckConstraint(
            "charges_cents >= 0 AND payments_cents >= 0 AND adjustments_cents >= 0"
            " AND patient_payments_cents >= 0 AND patient_responsibility_cents >= 0",
            name="totals_not_negative",
        ),
        CheckConstraint(f"{_BALANCE} >= 0", name="balance_not_negative"),
        CheckConstraint(
            "patient_payments_cents <= payments_cents", name="patient_part_of_payments"
        ),
        CheckConstraint(
            "patient_responsibility_cents <= charges_cents - adjustments_cents",
            name="responsibility_within_charges",
        ),
        _void_consistent(),
        CheckConstraint(
            "voided_at IS NULL OR (payments_cents = 0 AND adjustments_cents = 0"
            " AND patient_responsibility_cents = 0)",
            name="void_only_without_money",
        ),
        Index(
            "ix_invoices_tenant_id_patient_id_service_date",
            "tenant_id",
            "patient_id",
            "service_date",
        ),
    )

    encounter_id: Mapped[uuid.UUID]
    coverage_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("coverages.id"))
    service_date: Mapped[date] = mapped_column(Date)
    charges_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    payments_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    patient_payments_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    adjustments_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    patient_responsibility_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    balance_cents: Mapped[int] = mapped_column(BigInteger, Computed(_BALANCE, persisted=True))
    status: Mapped[str] = mapped_column(
        String(12),
        Computed(
            "CASE WHEN voided_at IS NOT NULL THEN 'void'"
            f" WHEN charges_cents > 0 AND {_BALANCE} = 0 THEN 'paid_in_full' ELSE 'open' END",
            persisted=True,
        ),
    )
    void_reason: Mapped[str | None] = mapped_column(String(500))
    voided_at: Mapped[datetime | None]
    voided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class Charge(PatientOwned, Base):
    """One procedure at its price: fee x units from the fee schedule that applied on the
    service date. `posted_at` minus `service_date` is the charge lag.

    Up to four diagnosis pointers name the encounter's ranked diagnoses; the first is
    required by the schema, so a charge without one cannot exist.

    An imported charge (`data_source` set) carries the code and amount its source billed: it
    has no fee schedule (the database refuses one, so it never passes for a price of ours),
    and its procedure and diagnoses are linked only where the source's codes match a record.
    """

    __tablename__ = "charges"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "procedure_id"),
        _fk(["patient_id"], "patients"),
        _fk(["invoice_id"], "invoices"),
        _fk(["encounter_id"], "encounters"),
        _fk(["rendering_practitioner_id"], "practitioners"),
        _fk(["location_id"], "locations"),
        _fk(["department_id"], "departments"),
        _fk(["fee_schedule_id"], "fee_schedules"),
        CheckConstraint(_in("status", listed(ChargeStatus)), name="status_known"),
        CheckConstraint("units BETWEEN 1 AND 999", name="units_range"),
        CheckConstraint(f"unit_price_cents BETWEEN 0 AND {MAX_CENTS}", name="price_range"),
        CheckConstraint(
            "amount_cents = unit_price_cents * units", name="amount_is_fee_times_units"
        ),
        _void_consistent(),
        CheckConstraint("(status = 'void') = (voided_at IS NOT NULL)", name="void_status"),
        CheckConstraint(
            "(diagnosis3_id IS NULL OR diagnosis2_id IS NOT NULL)"
            " AND (diagnosis4_id IS NULL OR diagnosis3_id IS NOT NULL)",
            name="pointers_in_order",
        ),
        CheckConstraint(
            "diagnosis2_id <> diagnosis1_id AND diagnosis3_id <> diagnosis1_id"
            " AND diagnosis3_id <> diagnosis2_id AND diagnosis4_id <> diagnosis1_id"
            " AND diagnosis4_id <> diagnosis2_id AND diagnosis4_id <> diagnosis3_id",
            name="pointers_distinct",
        ),
        data_source_known(),
        CheckConstraint(
            unless_imported(
                "fee_schedule_id IS NOT NULL AND procedure_id IS NOT NULL"
                " AND diagnosis1_id IS NOT NULL"
            ),
            name="captured_is_priced_and_pointed",
        ),
        CheckConstraint(
            "data_source IS NULL OR fee_schedule_id IS NULL", name="imported_not_from_fee_schedule"
        ),
        CheckConstraint(
            "diagnosis2_id IS NULL OR diagnosis1_id IS NOT NULL", name="first_pointer_first"
        ),
        Index("ix_charges_tenant_id_invoice_id", "tenant_id", "invoice_id"),
    )

    invoice_id: Mapped[uuid.UUID]
    encounter_id: Mapped[uuid.UUID]
    procedure_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("procedures.id"))
    code_system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32))
    modifiers: Mapped[str | None] = mapped_column(String(20))
    units: Mapped[int] = mapped_column(SmallInteger)
    service_date: Mapped[date] = mapped_column(Date)
    rendering_practitioner_id: Mapped[uuid.UUID]
    location_id: Mapped[uuid.UUID | None]
    department_id: Mapped[uuid.UUID | None]
    fee_schedule_id: Mapped[uuid.UUID | None]
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    diagnosis1_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("conditions.id"))
    diagnosis2_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("conditions.id"))
    diagnosis3_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("conditions.id"))
    diagnosis4_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("conditions.id"))
    status: Mapped[str] = mapped_column(String(8), default=ChargeStatus.ACTIVE.value)
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str | None] = mapped_column(String(500))
    voided_at: Mapped[datetime | None]
    voided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    data_source: Mapped[str | None] = data_source_column()

    @property
    def diagnosis_ids(self) -> list[uuid.UUID]:
        pointed = (self.diagnosis1_id, self.diagnosis2_id, self.diagnosis3_id, self.diagnosis4_id)
        return [condition_id for condition_id in pointed if condition_id is not None]


_LIVE_CLAIM = "status <> 'denied' AND data_source IS NULL"


class Claim(PatientOwned, Base):
    """A professional claim (837P) of one invoice to one coverage.

    A denied claim is corrected by a replacement claim (frequency code 7) that names it; a
    claim is replaced at most once. An invoice has at most one claim per coverage that is
    not denied.

    Imported claims (`data_source` set) keep their source's shape: several claims of one
    encounter to one coverage (Synthea bills each medication on a claim of its own), and no
    NPIs where the source had none.
    """

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "invoice_id", "id"),
        UniqueConstraint("tenant_id", "original_claim_id"),
        _fk(["patient_id"], "patients"),
        _fk(["invoice_id"], "invoices"),
        _fk(["payer_id"], "payers"),
        _fk(["original_claim_id"], "claims"),
        CheckConstraint(_in("status", listed(ClaimStatus)), name="status_known"),
        CheckConstraint(_in("frequency_code", listed(FrequencyCode)), name="frequency_known"),
        CheckConstraint(
            "(frequency_code = '7') = (original_claim_id IS NOT NULL)",
            name="replacement_names_original",
        ),
        CheckConstraint("original_claim_id <> id", name="not_replacing_itself"),
        CheckConstraint(f"billing_npi {_NPI} AND rendering_npi {_NPI}", name="npi_format"),
        data_source_known(),
        CheckConstraint(
            unless_imported("billing_npi IS NOT NULL AND rendering_npi IS NOT NULL"),
            name="claimed_with_npis",
        ),
        CheckConstraint(f"total_charge_cents BETWEEN 0 AND {MAX_CENTS}", name="total_range"),
        CheckConstraint("status = 'draft' OR tracking_id IS NOT NULL", name="submitted_is_tracked"),
        CheckConstraint(
            "status <> 'denied'"
            " OR (denial_group_code IS NOT NULL AND denial_reason_code IS NOT NULL)",
            name="denial_has_reason",
        ),
        Index(
            "ix_claims_one_live_per_coverage",
            "tenant_id",
            "invoice_id",
            "coverage_id",
            unique=True,
            postgresql_where=text(_LIVE_CLAIM),
        ),
        Index("ix_claims_tenant_id_status", "tenant_id", "status"),
        Index("ix_claims_tenant_id_payer_id", "tenant_id", "payer_id"),
    )

    invoice_id: Mapped[uuid.UUID]
    coverage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coverages.id"))
    payer_id: Mapped[uuid.UUID]
    member_id: Mapped[str] = mapped_column(String(64))
    frequency_code: Mapped[str] = mapped_column(String(1))
    original_claim_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(16), default=ClaimStatus.DRAFT.value)
    place_of_service: Mapped[str] = mapped_column(String(2))
    billing_npi: Mapped[str | None] = mapped_column(String(10))
    rendering_npi: Mapped[str | None] = mapped_column(String(10))
    total_charge_cents: Mapped[int] = mapped_column(BigInteger)
    tracking_id: Mapped[str | None] = mapped_column(String(64))
    payer_claim_number: Mapped[str | None] = mapped_column(String(50))
    denial_group_code: Mapped[str | None] = mapped_column(String(2))
    denial_reason_code: Mapped[str | None] = mapped_column(String(5))
    denial_remark_code: Mapped[str | None] = mapped_column(String(8))
    data_source: Mapped[str | None] = data_source_column()


class ClaimDiagnosis(TenantOwned, Base):
    """A diagnosis of the claim (837P HI segment); lines point at it by `pointer` (1-12).

    An imported claim's diagnosis names a condition only where the patient has one with its
    code: Synthea also lists the encounter's own code among a claim's diagnoses.
    """

    __tablename__ = "claim_diagnoses"
    __table_args__ = (
        _fk(["claim_id"], "claims"),
        UniqueConstraint("tenant_id", "claim_id", "pointer"),
        UniqueConstraint("tenant_id", "claim_id", "code_system", "code"),
        CheckConstraint("pointer BETWEEN 1 AND 12", name="pointer_range"),
        data_source_known(),
        CheckConstraint(unless_imported("condition_id IS NOT NULL"), name="names_a_condition"),
    )

    claim_id: Mapped[uuid.UUID]
    pointer: Mapped[int] = mapped_column(SmallInteger)
    condition_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("conditions.id"))
    code_system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32))
    data_source: Mapped[str | None] = data_source_column()


class ClaimLine(TenantOwned, Base):
    """A service line (837P loop 2400), copied from a charge when the claim was made."""

    __tablename__ = "claim_lines"
    __table_args__ = (
        _fk(["claim_id"], "claims"),
        _fk(["charge_id"], "charges"),
        UniqueConstraint("tenant_id", "claim_id", "line_number"),
        UniqueConstraint("tenant_id", "claim_id", "charge_id"),
        CheckConstraint("line_number BETWEEN 1 AND 50", name="line_number_range"),
        CheckConstraint("units BETWEEN 1 AND 999", name="units_range"),
        CheckConstraint(f"amount_cents BETWEEN 0 AND {MAX_CENTS}", name="amount_range"),
        CheckConstraint(
            "cardinality(diagnosis_pointers) BETWEEN 1 AND 4"
            " AND 1 <= ALL(diagnosis_pointers) AND 12 >= ALL(diagnosis_pointers)",
            name="pointers_range",
        ),
        CheckConstraint(f"rendering_npi {_NPI}", name="npi_format"),
        data_source_known(),
        CheckConstraint(unless_imported("rendering_npi IS NOT NULL"), name="rendered_with_npi"),
    )

    claim_id: Mapped[uuid.UUID]
    line_number: Mapped[int] = mapped_column(SmallInteger)
    charge_id: Mapped[uuid.UUID]
    code_system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32))
    modifiers: Mapped[str | None] = mapped_column(String(20))
    units: Mapped[int] = mapped_column(SmallInteger)
    service_date: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    diagnosis_pointers: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger))
    rendering_npi: Mapped[str | None] = mapped_column(String(10))
    data_source: Mapped[str | None] = data_source_column()


class ClaimEvent(TenantOwned, Base):
    """Who moved a claim from which status to which, and when. Append-only."""

    __tablename__ = "claim_events"
    __table_args__ = (
        _fk(["claim_id"], "claims"),
        CheckConstraint(_in("action", listed(ClaimAction)), name="action_known"),
        CheckConstraint(_in("to_status", listed(ClaimStatus)), name="to_status_known"),
        Index("ix_claim_events_tenant_id_claim_id", "tenant_id", "claim_id"),
    )

    claim_id: Mapped[uuid.UUID]
    action: Mapped[str] = mapped_column(String(10))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reason_code: Mapped[str | None] = mapped_column(String(8))
    remark_code: Mapped[str | None] = mapped_column(String(8))
    reference: Mapped[str | None] = mapped_column(String(64))


class Remittance(TenantOwned, Base):
    """One remittance advice (835) of a payer; its trace number is posted once."""

    __tablename__ = "remittances"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "payer_id", "reference"),
        _fk(["payer_id"], "payers"),
        CheckConstraint(_in("method", listed(PaymentMethod)), name="method_known"),
        CheckConstraint(f"paid_cents BETWEEN 0 AND {MAX_CENTS * 100}", name="paid_range"),
    )

    payer_id: Mapped[uuid.UUID]
    reference: Mapped[str] = mapped_column(String(50))
    method: Mapped[str] = mapped_column(String(8))
    received_on: Mapped[date] = mapped_column(Date)
    paid_cents: Mapped[int] = mapped_column(BigInteger)
    claim_count: Mapped[int] = mapped_column(SmallInteger)
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


def _ledger_keys(table: str) -> tuple[ForeignKeyConstraint | Index, ...]:
    """A payment or adjustment of a claim must be on that claim's invoice (MATCH SIMPLE:
    without a claim only the invoice key applies)."""
    return (
        _fk(["patient_id"], "patients"),
        _fk(["invoice_id"], "invoices"),
        _fk(["invoice_id", "claim_id"], "claims", ["invoice_id", "id"]),
        _fk(["remittance_id"], "remittances"),
        Index(f"ix_{table}_tenant_id_invoice_id", "tenant_id", "invoice_id"),
    )


class Payment(PatientOwned, Base):
    """Money received, from a payer (against a claim) or from the patient. Append-only."""

    __tablename__ = "payments"
    __table_args__ = (
        *_ledger_keys("payments"),
        _fk(["payer_id"], "payers"),
        CheckConstraint(_in("source", listed(PaymentSource)), name="source_known"),
        CheckConstraint(_in("method", listed(PaymentMethod)), name="method_known"),
        CheckConstraint(f"amount_cents BETWEEN 1 AND {MAX_CENTS}", name="amount_range"),
        CheckConstraint(
            "(source = 'payer') = (payer_id IS NOT NULL AND claim_id IS NOT NULL)",
            name="payer_pays_a_claim",
        ),
        CheckConstraint("source = 'payer' OR remittance_id IS NULL", name="remitted_by_payer"),
    )

    invoice_id: Mapped[uuid.UUID]
    source: Mapped[str] = mapped_column(String(8))
    payer_id: Mapped[uuid.UUID | None]
    claim_id: Mapped[uuid.UUID | None]
    remittance_id: Mapped[uuid.UUID | None]
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(8))
    reference: Mapped[str | None] = mapped_column(String(50))
    posted_on: Mapped[date] = mapped_column(Date)
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class Adjustment(PatientOwned, Base):
    """A change of what is owed with its CARC group and reason. Append-only."""

    __tablename__ = "adjustments"
    __table_args__ = (
        *_ledger_keys("adjustments"),
        CheckConstraint(_in("kind", listed(AdjustmentKind)), name="kind_known"),
        CheckConstraint(_in("group_code", listed(GroupCode)), name="group_known"),
        CheckConstraint(
            "(kind = 'patient_responsibility') = (group_code = 'PR')",
            name="patient_responsibility_is_pr",
        ),
        CheckConstraint(f"amount_cents BETWEEN 1 AND {MAX_CENTS}", name="amount_range"),
    )

    invoice_id: Mapped[uuid.UUID]
    claim_id: Mapped[uuid.UUID | None]
    remittance_id: Mapped[uuid.UUID | None]
    kind: Mapped[str] = mapped_column(String(24))
    group_code: Mapped[str] = mapped_column(String(2))
    reason_code: Mapped[str] = mapped_column(String(5))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    posted_on: Mapped[date] = mapped_column(Date)
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
