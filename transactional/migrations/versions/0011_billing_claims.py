"""Fee schedules, charges, invoices, claims, payments, adjustments and remittances.

The ledger guards itself, whoever writes to it:
- an invoice's totals are kept by triggers on charges, payments and adjustments (definer
  functions; the app role may not write those columns), its balance and status are generated
  columns, and a CHECK keeps the balance at zero or above;
- payments, adjustments, remittances and claim history are append-only and charges are never
  deleted: a trigger refuses it, and a posted charge may only change from active to void;
- a claim's status moves only along the lifecycle (a trigger), and one payer's fee schedules
  never overlap (an exclusion constraint).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from transactional.migrations.rls import tenant_table

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VOID = "void_reason, voided_at, voided_by"
# What the app role may do; invoice totals are written by the ledger triggers only.
PRIVILEGES = {
    "fee_schedules": "SELECT, INSERT, UPDATE (effective_to)",
    "fee_schedule_items": "SELECT, INSERT",
    "invoices": (
        "SELECT, INSERT (id, tenant_id, patient_id, encounter_id, coverage_id, service_date, "
        f"{_VOID}, created_at, updated_at), UPDATE (coverage_id, {_VOID}, updated_at)"
    ),
    "charges": f"SELECT, INSERT, UPDATE (status, {_VOID}, updated_at)",
    "claims": (
        "SELECT, INSERT, UPDATE (status, tracking_id, payer_claim_number, denial_group_code, "
        "denial_reason_code, denial_remark_code, updated_at)"
    ),
    "claim_diagnoses": "SELECT, INSERT",
    "claim_lines": "SELECT, INSERT",
    "claim_events": "SELECT, INSERT",
    "remittances": "SELECT, INSERT",
    "payments": "SELECT, INSERT",
    "adjustments": "SELECT, INSERT",
}
APPEND_ONLY = (
    "fee_schedule_items",
    "claim_diagnoses",
    "claim_lines",
    "claim_events",
    "remittances",
    "payments",
    "adjustments",
)
FUNCTIONS = {
    "billing_append_only": """
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% rows are never changed or deleted', TG_TABLE_NAME
                USING ERRCODE = 'integrity_constraint_violation';
        END $$""",
    "billing_charge_only_voided": """
        LANGUAGE plpgsql AS $$
        DECLARE
            mutable CONSTANT text[] := ARRAY['status', 'void_reason', 'voided_at', 'voided_by',
                                             'updated_at'];
        BEGIN
            IF OLD.status <> 'active' OR NEW.status <> 'void'
               OR (to_jsonb(NEW) - mutable) IS DISTINCT FROM (to_jsonb(OLD) - mutable) THEN
                RAISE EXCEPTION 'a posted charge can only be voided'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$""",
    "billing_charges_to_invoice": """
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        DECLARE
            delta bigint;
        BEGIN
            IF TG_OP = 'INSERT' THEN
                delta := CASE WHEN NEW.status = 'active' THEN NEW.amount_cents ELSE 0 END;
            ELSIF OLD.status = 'active' AND NEW.status = 'void' THEN
                delta := -OLD.amount_cents;
            ELSE
                RETURN NULL;
            END IF;
            UPDATE public.invoices
               SET charges_cents = charges_cents + delta, updated_at = now()
             WHERE tenant_id = NEW.tenant_id AND id = NEW.invoice_id;
            RETURN NULL;
        END $$""",
    "billing_payments_to_invoice": """
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        BEGIN
            UPDATE public.invoices
               SET payments_cents = payments_cents + NEW.amount_cents,
                   patient_payments_cents = patient_payments_cents
                       + CASE WHEN NEW.source = 'patient' THEN NEW.amount_cents ELSE 0 END,
                   updated_at = now()
             WHERE tenant_id = NEW.tenant_id AND id = NEW.invoice_id;
            RETURN NULL;
        END $$""",
    "billing_adjustments_to_invoice": """
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        BEGIN
            IF NEW.kind = 'patient_responsibility' THEN
                UPDATE public.invoices
                   SET patient_responsibility_cents = patient_responsibility_cents
                           + NEW.amount_cents,
                       updated_at = now()
                 WHERE tenant_id = NEW.tenant_id AND id = NEW.invoice_id;
            ELSE
                UPDATE public.invoices
                   SET adjustments_cents = adjustments_cents + NEW.amount_cents,
                       updated_at = now()
                 WHERE tenant_id = NEW.tenant_id AND id = NEW.invoice_id;
            END IF;
            RETURN NULL;
        END $$""",
    "billing_claim_transition": """
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status IS DISTINCT FROM OLD.status AND (OLD.status, NEW.status) NOT IN (
                ('draft', 'submitted'), ('submitted', 'accepted'), ('submitted', 'denied'),
                ('accepted', 'denied'), ('accepted', 'paid'), ('accepted', 'partially_paid'),
                ('partially_paid', 'paid')
            ) THEN
                RAISE EXCEPTION 'a claim cannot go from % to %', OLD.status, NEW.status
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END $$""",
}
# (trigger, timing and events, table, function)
TRIGGERS = (
    *(
        (f"{table}_append_only", "BEFORE UPDATE OR DELETE", table, "billing_append_only")
        for table in APPEND_ONLY
    ),
    ("charges_never_deleted", "BEFORE DELETE", "charges", "billing_append_only"),
    ("charges_only_voided", "BEFORE UPDATE", "charges", "billing_charge_only_voided"),
    ("charges_invoice_totals", "AFTER INSERT OR UPDATE", "charges", "billing_charges_to_invoice"),
    ("payments_invoice_totals", "AFTER INSERT", "payments", "billing_payments_to_invoice"),
    ("adjustments_invoice_totals", "AFTER INSERT", "adjustments", "billing_adjustments_to_invoice"),
    ("claims_status_transition", "BEFORE UPDATE OF status", "claims", "billing_claim_transition"),
)


def upgrade() -> None:
    op.create_table(
        "fee_schedules",
        sa.Column("payer_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        postgresql.ExcludeConstraint(
            (sa.column("tenant_id"), "="),
            (sa.text("coalesce(payer_id, '00000000-0000-0000-0000-000000000000'::uuid)"), "="),
            (sa.text("daterange(effective_from, effective_to, '[]')"), "&&"),
            using="gist",
            name="ex_fee_schedules_one_per_payer_and_day",
        ),
        sa.CheckConstraint(
            "effective_to IS NULL OR effective_to >= effective_from",
            name=op.f("ck_fee_schedules_period_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_fee_schedules_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "payer_id"],
            ["payers.tenant_id", "payers.id"],
            name=op.f("fk_fee_schedules_tenant_id_payer_id_payers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_fee_schedules_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_schedules")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_fee_schedules_tenant_id_id")),
    )
    op.create_index(
        op.f("ix_fee_schedules_tenant_id"), "fee_schedules", ["tenant_id"], unique=False
    )
    op.create_table(
        "remittances",
        sa.Column("payer_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=50), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("paid_cents", sa.BigInteger(), nullable=False),
        sa.Column("claim_count", sa.SmallInteger(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "method IN ('cash', 'check', 'card', 'eft', 'other')",
            name=op.f("ck_remittances_method_known"),
        ),
        sa.CheckConstraint(
            "paid_cents BETWEEN 0 AND 10000000000", name=op.f("ck_remittances_paid_range")
        ),
        sa.ForeignKeyConstraint(
            ["posted_by"], ["users.id"], name=op.f("fk_remittances_posted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "payer_id"],
            ["payers.tenant_id", "payers.id"],
            name=op.f("fk_remittances_tenant_id_payer_id_payers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_remittances_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remittances")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_remittances_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "payer_id",
            "reference",
            name=op.f("uq_remittances_tenant_id_payer_id_reference"),
        ),
    )
    op.create_index(op.f("ix_remittances_tenant_id"), "remittances", ["tenant_id"], unique=False)
    op.create_table(
        "fee_schedule_items",
        sa.Column("fee_schedule_id", sa.Uuid(), nullable=False),
        sa.Column("code_system", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "amount_cents BETWEEN 0 AND 100000000", name=op.f("ck_fee_schedule_items_amount_range")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "fee_schedule_id"],
            ["fee_schedules.tenant_id", "fee_schedules.id"],
            name=op.f("fk_fee_schedule_items_tenant_id_fee_schedule_id_fee_schedules"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_fee_schedule_items_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_schedule_items")),
        sa.UniqueConstraint(
            "tenant_id",
            "fee_schedule_id",
            "code_system",
            "code",
            name=op.f("uq_fee_schedule_items_tenant_id_fee_schedule_id_code_system_code"),
        ),
    )
    op.create_index(
        op.f("ix_fee_schedule_items_tenant_id"), "fee_schedule_items", ["tenant_id"], unique=False
    )
    op.create_table(
        "invoices",
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("coverage_id", sa.Uuid(), nullable=True),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("charges_cents", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("payments_cents", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "patient_payments_cents", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "adjustments_cents", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "patient_responsibility_cents",
            sa.BigInteger(),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column(
            "balance_cents",
            sa.BigInteger(),
            sa.Computed("charges_cents - payments_cents - adjustments_cents", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.String(length=12),
            sa.Computed(
                "CASE WHEN voided_at IS NOT NULL THEN 'void' WHEN charges_cents > 0 AND charges_cents - payments_cents - adjustments_cents = 0 THEN 'paid_in_full' ELSE 'open' END",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("void_reason", sa.String(length=500), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_by", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "(voided_at IS NULL) = (void_reason IS NULL)",
            name=op.f("ck_invoices_void_has_reason_and_time"),
        ),
        sa.CheckConstraint(
            "charges_cents - payments_cents - adjustments_cents >= 0",
            name=op.f("ck_invoices_balance_not_negative"),
        ),
        sa.CheckConstraint(
            "charges_cents >= 0 AND payments_cents >= 0 AND adjustments_cents >= 0 AND patient_payments_cents >= 0 AND patient_responsibility_cents >= 0",
            name=op.f("ck_invoices_totals_not_negative"),
        ),
        sa.CheckConstraint(
            "patient_payments_cents <= payments_cents",
            name=op.f("ck_invoices_patient_part_of_payments"),
        ),
        sa.CheckConstraint(
            "patient_responsibility_cents <= charges_cents - adjustments_cents",
            name=op.f("ck_invoices_responsibility_within_charges"),
        ),
        sa.CheckConstraint(
            "voided_at IS NULL OR (payments_cents = 0 AND adjustments_cents = 0 AND patient_responsibility_cents = 0)",
            name=op.f("ck_invoices_void_only_without_money"),
        ),
        sa.ForeignKeyConstraint(
            ["coverage_id"], ["coverages.id"], name=op.f("fk_invoices_coverage_id_coverages")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "encounter_id"],
            ["encounters.tenant_id", "encounters.id"],
            name=op.f("fk_invoices_tenant_id_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_invoices_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_invoices_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_invoices_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint(
            "tenant_id", "encounter_id", name=op.f("uq_invoices_tenant_id_encounter_id")
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_invoices_tenant_id_id")),
    )
    op.create_index(op.f("ix_invoices_patient_id"), "invoices", ["patient_id"], unique=False)
    op.create_index(op.f("ix_invoices_tenant_id"), "invoices", ["tenant_id"], unique=False)
    op.create_index(
        "ix_invoices_tenant_id_patient_id_service_date",
        "invoices",
        ["tenant_id", "patient_id", "service_date"],
        unique=False,
    )
    op.create_table(
        "charges",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("procedure_id", sa.Uuid(), nullable=False),
        sa.Column("code_system", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("modifiers", sa.String(length=20), nullable=True),
        sa.Column("units", sa.SmallInteger(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("rendering_practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("fee_schedule_id", sa.Uuid(), nullable=False),
        sa.Column("unit_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("diagnosis1_id", sa.Uuid(), nullable=False),
        sa.Column("diagnosis2_id", sa.Uuid(), nullable=True),
        sa.Column("diagnosis3_id", sa.Uuid(), nullable=True),
        sa.Column("diagnosis4_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_by", sa.Uuid(), nullable=True),
        sa.Column("void_reason", sa.String(length=500), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_by", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "(status = 'void') = (voided_at IS NOT NULL)", name=op.f("ck_charges_void_status")
        ),
        sa.CheckConstraint("status IN ('active', 'void')", name=op.f("ck_charges_status_known")),
        sa.CheckConstraint(
            "(diagnosis3_id IS NULL OR diagnosis2_id IS NOT NULL) AND (diagnosis4_id IS NULL OR diagnosis3_id IS NOT NULL)",
            name=op.f("ck_charges_pointers_in_order"),
        ),
        sa.CheckConstraint(
            "(voided_at IS NULL) = (void_reason IS NULL)",
            name=op.f("ck_charges_void_has_reason_and_time"),
        ),
        sa.CheckConstraint(
            "amount_cents = unit_price_cents * units",
            name=op.f("ck_charges_amount_is_fee_times_units"),
        ),
        sa.CheckConstraint(
            "diagnosis2_id <> diagnosis1_id AND diagnosis3_id <> diagnosis1_id AND diagnosis3_id <> diagnosis2_id AND diagnosis4_id <> diagnosis1_id AND diagnosis4_id <> diagnosis2_id AND diagnosis4_id <> diagnosis3_id",
            name=op.f("ck_charges_pointers_distinct"),
        ),
        sa.CheckConstraint(
            "unit_price_cents BETWEEN 0 AND 100000000", name=op.f("ck_charges_price_range")
        ),
        sa.CheckConstraint("units BETWEEN 1 AND 999", name=op.f("ck_charges_units_range")),
        sa.ForeignKeyConstraint(
            ["diagnosis1_id"], ["conditions.id"], name=op.f("fk_charges_diagnosis1_id_conditions")
        ),
        sa.ForeignKeyConstraint(
            ["diagnosis2_id"], ["conditions.id"], name=op.f("fk_charges_diagnosis2_id_conditions")
        ),
        sa.ForeignKeyConstraint(
            ["diagnosis3_id"], ["conditions.id"], name=op.f("fk_charges_diagnosis3_id_conditions")
        ),
        sa.ForeignKeyConstraint(
            ["diagnosis4_id"], ["conditions.id"], name=op.f("fk_charges_diagnosis4_id_conditions")
        ),
        sa.ForeignKeyConstraint(
            ["posted_by"], ["users.id"], name=op.f("fk_charges_posted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["procedure_id"], ["procedures.id"], name=op.f("fk_charges_procedure_id_procedures")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "department_id"],
            ["departments.tenant_id", "departments.id"],
            name=op.f("fk_charges_tenant_id_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "encounter_id"],
            ["encounters.tenant_id", "encounters.id"],
            name=op.f("fk_charges_tenant_id_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "fee_schedule_id"],
            ["fee_schedules.tenant_id", "fee_schedules.id"],
            name=op.f("fk_charges_tenant_id_fee_schedule_id_fee_schedules"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            name=op.f("fk_charges_tenant_id_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "location_id"],
            ["locations.tenant_id", "locations.id"],
            name=op.f("fk_charges_tenant_id_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_charges_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "rendering_practitioner_id"],
            ["practitioners.tenant_id", "practitioners.id"],
            name=op.f("fk_charges_tenant_id_rendering_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_charges_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["users.id"], name=op.f("fk_charges_voided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charges")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_charges_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", "procedure_id", name=op.f("uq_charges_tenant_id_procedure_id")
        ),
    )
    op.create_index(op.f("ix_charges_patient_id"), "charges", ["patient_id"], unique=False)
    op.create_index(op.f("ix_charges_tenant_id"), "charges", ["tenant_id"], unique=False)
    op.create_index(
        "ix_charges_tenant_id_invoice_id", "charges", ["tenant_id", "invoice_id"], unique=False
    )
    op.create_table(
        "claims",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("coverage_id", sa.Uuid(), nullable=False),
        sa.Column("payer_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("frequency_code", sa.String(length=1), nullable=False),
        sa.Column("original_claim_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("place_of_service", sa.String(length=2), nullable=False),
        sa.Column("billing_npi", sa.String(length=10), nullable=False),
        sa.Column("rendering_npi", sa.String(length=10), nullable=False),
        sa.Column("total_charge_cents", sa.BigInteger(), nullable=False),
        sa.Column("tracking_id", sa.String(length=64), nullable=True),
        sa.Column("payer_claim_number", sa.String(length=50), nullable=True),
        sa.Column("denial_group_code", sa.String(length=2), nullable=True),
        sa.Column("denial_reason_code", sa.String(length=5), nullable=True),
        sa.Column("denial_remark_code", sa.String(length=8), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "(frequency_code = '7') = (original_claim_id IS NOT NULL)",
            name=op.f("ck_claims_replacement_names_original"),
        ),
        sa.CheckConstraint(
            "billing_npi ~ '^[0-9]{10}$' AND rendering_npi ~ '^[0-9]{10}$'",
            name=op.f("ck_claims_npi_format"),
        ),
        sa.CheckConstraint("frequency_code IN ('1', '7')", name=op.f("ck_claims_frequency_known")),
        sa.CheckConstraint(
            "status <> 'denied' OR (denial_group_code IS NOT NULL AND denial_reason_code IS NOT NULL)",
            name=op.f("ck_claims_denial_has_reason"),
        ),
        sa.CheckConstraint(
            "status = 'draft' OR tracking_id IS NOT NULL",
            name=op.f("ck_claims_submitted_is_tracked"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'accepted', 'denied', 'partially_paid', 'paid')",
            name=op.f("ck_claims_status_known"),
        ),
        sa.CheckConstraint("original_claim_id <> id", name=op.f("ck_claims_not_replacing_itself")),
        sa.CheckConstraint(
            "total_charge_cents BETWEEN 0 AND 100000000", name=op.f("ck_claims_total_range")
        ),
        sa.ForeignKeyConstraint(
            ["coverage_id"], ["coverages.id"], name=op.f("fk_claims_coverage_id_coverages")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            name=op.f("fk_claims_tenant_id_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "original_claim_id"],
            ["claims.tenant_id", "claims.id"],
            name=op.f("fk_claims_tenant_id_original_claim_id_claims"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_claims_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "payer_id"],
            ["payers.tenant_id", "payers.id"],
            name=op.f("fk_claims_tenant_id_payer_id_payers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_claims_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_claims_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", "invoice_id", "id", name=op.f("uq_claims_tenant_id_invoice_id_id")
        ),
        sa.UniqueConstraint(
            "tenant_id", "original_claim_id", name=op.f("uq_claims_tenant_id_original_claim_id")
        ),
    )
    op.create_index(
        "ix_claims_one_live_per_coverage",
        "claims",
        ["tenant_id", "invoice_id", "coverage_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'denied'"),
    )
    op.create_index(op.f("ix_claims_patient_id"), "claims", ["patient_id"], unique=False)
    op.create_index(op.f("ix_claims_tenant_id"), "claims", ["tenant_id"], unique=False)
    op.create_index(
        "ix_claims_tenant_id_payer_id", "claims", ["tenant_id", "payer_id"], unique=False
    )
    op.create_index("ix_claims_tenant_id_status", "claims", ["tenant_id", "status"], unique=False)
    op.create_table(
        "adjustments",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=True),
        sa.Column("remittance_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("group_code", sa.String(length=2), nullable=False),
        sa.Column("reason_code", sa.String(length=5), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_by", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'patient_responsibility') = (group_code = 'PR')",
            name=op.f("ck_adjustments_patient_responsibility_is_pr"),
        ),
        sa.CheckConstraint(
            "group_code IN ('CO', 'OA', 'PI', 'PR')", name=op.f("ck_adjustments_group_known")
        ),
        sa.CheckConstraint(
            "kind IN ('contractual', 'write_off', 'patient_responsibility')",
            name=op.f("ck_adjustments_kind_known"),
        ),
        sa.CheckConstraint(
            "amount_cents BETWEEN 1 AND 100000000", name=op.f("ck_adjustments_amount_range")
        ),
        sa.ForeignKeyConstraint(
            ["posted_by"], ["users.id"], name=op.f("fk_adjustments_posted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "invoice_id", "claim_id"],
            ["claims.tenant_id", "claims.invoice_id", "claims.id"],
            name=op.f("fk_adjustments_tenant_id_invoice_id_claim_id_claims"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            name=op.f("fk_adjustments_tenant_id_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_adjustments_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "remittance_id"],
            ["remittances.tenant_id", "remittances.id"],
            name=op.f("fk_adjustments_tenant_id_remittance_id_remittances"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_adjustments_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjustments")),
    )
    op.create_index(op.f("ix_adjustments_patient_id"), "adjustments", ["patient_id"], unique=False)
    op.create_index(op.f("ix_adjustments_tenant_id"), "adjustments", ["tenant_id"], unique=False)
    op.create_index(
        "ix_adjustments_tenant_id_invoice_id",
        "adjustments",
        ["tenant_id", "invoice_id"],
        unique=False,
    )
    op.create_table(
        "claim_diagnoses",
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("pointer", sa.SmallInteger(), nullable=False),
        sa.Column("condition_id", sa.Uuid(), nullable=False),
        sa.Column("code_system", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "pointer BETWEEN 1 AND 12", name=op.f("ck_claim_diagnoses_pointer_range")
        ),
        sa.ForeignKeyConstraint(
            ["condition_id"],
            ["conditions.id"],
            name=op.f("fk_claim_diagnoses_condition_id_conditions"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "claim_id"],
            ["claims.tenant_id", "claims.id"],
            name=op.f("fk_claim_diagnoses_tenant_id_claim_id_claims"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_claim_diagnoses_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_diagnoses")),
        sa.UniqueConstraint(
            "tenant_id",
            "claim_id",
            "code_system",
            "code",
            name=op.f("uq_claim_diagnoses_tenant_id_claim_id_code_system_code"),
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "claim_id",
            "pointer",
            name=op.f("uq_claim_diagnoses_tenant_id_claim_id_pointer"),
        ),
    )
    op.create_index(
        op.f("ix_claim_diagnoses_tenant_id"), "claim_diagnoses", ["tenant_id"], unique=False
    )
    op.create_table(
        "claim_events",
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("reason_code", sa.String(length=8), nullable=True),
        sa.Column("remark_code", sa.String(length=8), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "action IN ('create', 'submit', 'accept', 'deny', 'replace', 'remit')",
            name=op.f("ck_claim_events_action_known"),
        ),
        sa.CheckConstraint(
            "to_status IN ('draft', 'submitted', 'accepted', 'denied', 'partially_paid', 'paid')",
            name=op.f("ck_claim_events_to_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_claim_events_actor_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "claim_id"],
            ["claims.tenant_id", "claims.id"],
            name=op.f("fk_claim_events_tenant_id_claim_id_claims"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_claim_events_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_events")),
    )
    op.create_index(op.f("ix_claim_events_tenant_id"), "claim_events", ["tenant_id"], unique=False)
    op.create_index(
        "ix_claim_events_tenant_id_claim_id",
        "claim_events",
        ["tenant_id", "claim_id"],
        unique=False,
    )
    op.create_table(
        "claim_lines",
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("line_number", sa.SmallInteger(), nullable=False),
        sa.Column("charge_id", sa.Uuid(), nullable=False),
        sa.Column("code_system", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("modifiers", sa.String(length=20), nullable=True),
        sa.Column("units", sa.SmallInteger(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("diagnosis_pointers", postgresql.ARRAY(sa.SmallInteger()), nullable=False),
        sa.Column("rendering_npi", sa.String(length=10), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("rendering_npi ~ '^[0-9]{10}$'", name=op.f("ck_claim_lines_npi_format")),
        sa.CheckConstraint(
            "amount_cents BETWEEN 0 AND 100000000", name=op.f("ck_claim_lines_amount_range")
        ),
        sa.CheckConstraint(
            "cardinality(diagnosis_pointers) BETWEEN 1 AND 4 AND 1 <= ALL(diagnosis_pointers) AND 12 >= ALL(diagnosis_pointers)",
            name=op.f("ck_claim_lines_pointers_range"),
        ),
        sa.CheckConstraint(
            "line_number BETWEEN 1 AND 50", name=op.f("ck_claim_lines_line_number_range")
        ),
        sa.CheckConstraint("units BETWEEN 1 AND 999", name=op.f("ck_claim_lines_units_range")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "charge_id"],
            ["charges.tenant_id", "charges.id"],
            name=op.f("fk_claim_lines_tenant_id_charge_id_charges"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "claim_id"],
            ["claims.tenant_id", "claims.id"],
            name=op.f("fk_claim_lines_tenant_id_claim_id_claims"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_claim_lines_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_lines")),
        sa.UniqueConstraint(
            "tenant_id",
            "claim_id",
            "charge_id",
            name=op.f("uq_claim_lines_tenant_id_claim_id_charge_id"),
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "claim_id",
            "line_number",
            name=op.f("uq_claim_lines_tenant_id_claim_id_line_number"),
        ),
    )
    op.create_index(op.f("ix_claim_lines_tenant_id"), "claim_lines", ["tenant_id"], unique=False)
    op.create_table(
        "payments",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("payer_id", sa.Uuid(), nullable=True),
        sa.Column("claim_id", sa.Uuid(), nullable=True),
        sa.Column("remittance_id", sa.Uuid(), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("reference", sa.String(length=50), nullable=True),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_by", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "(source = 'payer') = (payer_id IS NOT NULL AND claim_id IS NOT NULL)",
            name=op.f("ck_payments_payer_pays_a_claim"),
        ),
        sa.CheckConstraint(
            "method IN ('cash', 'check', 'card', 'eft', 'other')",
            name=op.f("ck_payments_method_known"),
        ),
        sa.CheckConstraint(
            "source = 'payer' OR remittance_id IS NULL", name=op.f("ck_payments_remitted_by_payer")
        ),
        sa.CheckConstraint("source IN ('payer', 'patient')", name=op.f("ck_payments_source_known")),
        sa.CheckConstraint(
            "amount_cents BETWEEN 1 AND 100000000", name=op.f("ck_payments_amount_range")
        ),
        sa.ForeignKeyConstraint(
            ["posted_by"], ["users.id"], name=op.f("fk_payments_posted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "invoice_id", "claim_id"],
            ["claims.tenant_id", "claims.invoice_id", "claims.id"],
            name=op.f("fk_payments_tenant_id_invoice_id_claim_id_claims"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            name=op.f("fk_payments_tenant_id_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_payments_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "payer_id"],
            ["payers.tenant_id", "payers.id"],
            name=op.f("fk_payments_tenant_id_payer_id_payers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "remittance_id"],
            ["remittances.tenant_id", "remittances.id"],
            name=op.f("fk_payments_tenant_id_remittance_id_remittances"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_payments_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_patient_id"), "payments", ["patient_id"], unique=False)
    op.create_index(op.f("ix_payments_tenant_id"), "payments", ["tenant_id"], unique=False)
    op.create_index(
        "ix_payments_tenant_id_invoice_id", "payments", ["tenant_id", "invoice_id"], unique=False
    )

    for table, privileges in PRIVILEGES.items():
        tenant_table(table, privileges)
    for name, definition in FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger {definition}")
    for trigger, when, table, function in TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {trigger} {when} ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()"
        )


def downgrade() -> None:
    op.drop_index("ix_payments_tenant_id_invoice_id", table_name="payments")
    op.drop_index(op.f("ix_payments_tenant_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_patient_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_claim_lines_tenant_id"), table_name="claim_lines")
    op.drop_table("claim_lines")
    op.drop_index("ix_claim_events_tenant_id_claim_id", table_name="claim_events")
    op.drop_index(op.f("ix_claim_events_tenant_id"), table_name="claim_events")
    op.drop_table("claim_events")
    op.drop_index(op.f("ix_claim_diagnoses_tenant_id"), table_name="claim_diagnoses")
    op.drop_table("claim_diagnoses")
    op.drop_index("ix_adjustments_tenant_id_invoice_id", table_name="adjustments")
    op.drop_index(op.f("ix_adjustments_tenant_id"), table_name="adjustments")
    op.drop_index(op.f("ix_adjustments_patient_id"), table_name="adjustments")
    op.drop_table("adjustments")
    op.drop_index("ix_claims_tenant_id_status", table_name="claims")
    op.drop_index("ix_claims_tenant_id_payer_id", table_name="claims")
    op.drop_index(op.f("ix_claims_tenant_id"), table_name="claims")
    op.drop_index(op.f("ix_claims_patient_id"), table_name="claims")
    op.drop_index(
        "ix_claims_one_live_per_coverage",
        table_name="claims",
        postgresql_where=sa.text("status <> 'denied'"),
    )
    op.drop_table("claims")
    op.drop_index("ix_charges_tenant_id_invoice_id", table_name="charges")
    op.drop_index(op.f("ix_charges_tenant_id"), table_name="charges")
    op.drop_index(op.f("ix_charges_patient_id"), table_name="charges")
    op.drop_table("charges")
    op.drop_index("ix_invoices_tenant_id_patient_id_service_date", table_name="invoices")
    op.drop_index(op.f("ix_invoices_tenant_id"), table_name="invoices")
    op.drop_index(op.f("ix_invoices_patient_id"), table_name="invoices")
    op.drop_table("invoices")
    op.drop_index(op.f("ix_fee_schedule_items_tenant_id"), table_name="fee_schedule_items")
    op.drop_table("fee_schedule_items")
    op.drop_index(op.f("ix_remittances_tenant_id"), table_name="remittances")
    op.drop_table("remittances")
    op.drop_index(op.f("ix_fee_schedules_tenant_id"), table_name="fee_schedules")
    op.drop_table("fee_schedules")

    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
