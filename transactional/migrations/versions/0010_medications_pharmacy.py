"""Prescriptions with safety checks, pharmacy stock, lots and dispensing.

The database guards what a race could break: a lot's quantity on hand never goes below
zero, a prescription's dispensed total never exceeds quantity x (1 + refills), and each
workflow status carries its who/when (and reason for cancel and stop).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from transactional.migrations.rls import app_role, tenant_table

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "prescriptions",
    "prescription_findings",
    "stock_items",
    "stock_lots",
    "stock_movements",
)


def _tenant_fk(table: str, columns: list[str], target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", *columns],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{'_'.join(columns)}_{target}"),
    )


def _tenants_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["tenants.id"],
        name=op.f(f"fk_{table}_tenant_id_tenants"),
        ondelete="RESTRICT",
    )


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"))


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def _prescriptions() -> None:
    t = "prescriptions"
    op.create_table(
        t,
        sa.Column("medication_system", sa.String(length=200), nullable=False),
        sa.Column("medication_code", sa.String(length=32), nullable=False),
        sa.Column("medication_display", sa.String(length=300), nullable=False),
        sa.Column("medication_tty", sa.String(length=8), nullable=False),
        sa.Column("ingredient_codes", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("dose_value", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("dose_unit", sa.String(length=40), nullable=False),
        sa.Column("route_system", sa.String(length=200), nullable=False),
        sa.Column("route_code", sa.String(length=32), nullable=False),
        sa.Column("route_display", sa.String(length=300), nullable=False),
        sa.Column("frequency_code", sa.String(length=16), nullable=False),
        sa.Column("frequency_display", sa.String(length=100), nullable=False),
        sa.Column("frequency_per_day", sa.Numeric(precision=10, scale=4), nullable=True),
        sa.Column("as_needed", sa.Boolean(), nullable=False),
        sa.Column("duration_days", sa.SmallInteger(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column("quantity_unit", sa.String(length=40), nullable=True),
        sa.Column("refills", sa.SmallInteger(), nullable=False),
        sa.Column("dispensed_quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("prescriber_id", sa.Uuid(), nullable=True),
        sa.Column("encounter_id", sa.Uuid(), nullable=True),
        sa.Column("indication_system", sa.String(length=200), nullable=True),
        sa.Column("indication_code", sa.String(length=32), nullable=True),
        sa.Column("indication_display", sa.String(length=300), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("knowledge_version", sa.String(length=16), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by", sa.Uuid(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_by", sa.Uuid(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.Uuid(), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_by", sa.Uuid(), nullable=True),
        sa.Column("stop_reason", sa.String(length=500), nullable=True),
        sa.Column("override_reason", sa.String(length=500), nullable=True),
        sa.Column("overridden_by", sa.Uuid(), nullable=True),
        sa.Column("overridden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_dispensed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        _check(
            t,
            "status_known",
            "status IN ('draft', 'active', 'sent', 'partially_dispensed', 'dispensed', 'cancelled', 'stopped')",
        ),
        _check(t, "tty_known", "medication_tty IN ('IN', 'SCD', 'SBD', 'BPCK', 'GPCK')"),
        _check(t, "has_ingredients", "cardinality(ingredient_codes) >= 1"),
        _check(t, "dose_positive", "dose_value > 0"),
        _check(t, "per_day", "frequency_per_day IS NULL OR frequency_per_day > 0"),
        _check(t, "days", "duration_days IS NULL OR duration_days BETWEEN 1 AND 3650"),
        _check(t, "quantity_positive", "quantity IS NULL OR quantity > 0"),
        _check(t, "refills_range", "refills BETWEEN 0 AND 99"),
        _check(t, "dispensed_not_negative", "dispensed_quantity >= 0"),
        _check(
            t,
            "dispensed_within_prescribed",
            "dispensed_quantity = 0 OR dispensed_quantity <= quantity * (1 + refills)",
        ),
        _check(t, "draft_unsigned", "status <> 'draft' OR signed_at IS NULL"),
        _check(
            t,
            "signed_unless_draft",
            "status IN ('draft', 'cancelled') OR (signed_at IS NOT NULL AND signed_by IS NOT NULL)",
        ),
        _check(t, "sent_has_time", "status <> 'sent' OR sent_at IS NOT NULL"),
        _check(
            t,
            "cancel_has_reason",
            "status <> 'cancelled' OR (cancelled_at IS NOT NULL AND cancel_reason IS NOT NULL)",
        ),
        _check(
            t,
            "stop_has_reason",
            "status <> 'stopped' OR (stopped_at IS NOT NULL AND stop_reason IS NOT NULL)",
        ),
        _check(
            t,
            "dispensed_has_quantity",
            "status NOT IN ('partially_dispensed', 'dispensed') OR dispensed_quantity > 0",
        ),
        _check(
            t,
            "override_has_user",
            "override_reason IS NULL OR (overridden_by IS NOT NULL AND overridden_at IS NOT NULL)",
        ),
        _user_fk(t, "cancelled_by"),
        _user_fk(t, "created_by"),
        _user_fk(t, "overridden_by"),
        _user_fk(t, "sent_by"),
        _user_fk(t, "signed_by"),
        _user_fk(t, "stopped_by"),
        _tenant_fk(t, ["encounter_id"], "encounters"),
        _tenant_fk(t, ["patient_id"], "patients"),
        _tenant_fk(t, ["prescriber_id"], "practitioners"),
        _tenants_fk(t),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescriptions")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_prescriptions_tenant_id_id")),
    )
    op.create_index(op.f("ix_prescriptions_patient_id"), t, ["patient_id"], unique=False)
    op.create_index(op.f("ix_prescriptions_tenant_id"), t, ["tenant_id"], unique=False)
    op.create_index(
        "ix_prescriptions_tenant_id_patient_id_status",
        t,
        ["tenant_id", "patient_id", "status"],
        unique=False,
    )


def _findings() -> None:
    t = "prescription_findings"
    op.create_table(
        t,
        sa.Column("prescription_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("drug_code", sa.String(length=16), nullable=False),
        sa.Column("drug_display", sa.String(length=300), nullable=False),
        sa.Column("interacting_code", sa.String(length=32), nullable=True),
        sa.Column("interacting_display", sa.String(length=300), nullable=True),
        sa.Column("interacting_prescription_id", sa.Uuid(), nullable=True),
        sa.Column("allergy_id", sa.Uuid(), nullable=True),
        sa.Column("allergy_substance_system", sa.String(length=200), nullable=True),
        sa.Column("allergy_substance_code", sa.String(length=64), nullable=True),
        sa.Column("allergy_substance_display", sa.String(length=300), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("management", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("overridden", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        _check(t, "kind_known", "kind IN ('interaction', 'allergy', 'duplicate')"),
        _check(t, "severity_known", "severity IN ('critical', 'major', 'moderate')"),
        _check(t, "only_critical_overridden", "NOT overridden OR severity = 'critical'"),
        sa.ForeignKeyConstraint(
            ["allergy_id"],
            ["allergies.id"],
            name=op.f("fk_prescription_findings_allergy_id_allergies"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "interacting_prescription_id"],
            ["prescriptions.tenant_id", "prescriptions.id"],
            name="fk_prescription_findings_interacting_prescription",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "prescription_id"],
            ["prescriptions.tenant_id", "prescriptions.id"],
            name="fk_prescription_findings_prescription",
        ),
        _tenants_fk(t),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescription_findings")),
    )
    op.create_index(op.f("ix_prescription_findings_tenant_id"), t, ["tenant_id"], unique=False)
    op.create_index(
        "ix_prescription_findings_tenant_id_prescription_id",
        t,
        ["tenant_id", "prescription_id"],
        unique=False,
    )


def _stock() -> None:
    op.create_table(
        "stock_items",
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("medication_system", sa.String(length=200), nullable=False),
        sa.Column("medication_code", sa.String(length=32), nullable=False),
        sa.Column("medication_display", sa.String(length=300), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("reorder_threshold", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        _check("stock_items", "threshold_not_negative", "reorder_threshold >= 0"),
        _tenant_fk("stock_items", ["location_id"], "locations"),
        _tenants_fk("stock_items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_items")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_stock_items_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "location_id",
            "medication_code",
            name=op.f("uq_stock_items_tenant_id_location_id_medication_code"),
        ),
    )
    op.create_index(op.f("ix_stock_items_tenant_id"), "stock_items", ["tenant_id"], unique=False)
    op.create_table(
        "stock_lots",
        sa.Column("stock_item_id", sa.Uuid(), nullable=False),
        sa.Column("lot_number", sa.String(length=64), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("quantity_on_hand", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        _check("stock_lots", "on_hand_not_negative", "quantity_on_hand >= 0"),
        _tenant_fk("stock_lots", ["stock_item_id"], "stock_items"),
        _tenants_fk("stock_lots"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_lots")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_stock_lots_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "stock_item_id",
            "lot_number",
            name=op.f("uq_stock_lots_tenant_id_stock_item_id_lot_number"),
        ),
    )
    op.create_index(op.f("ix_stock_lots_tenant_id"), "stock_lots", ["tenant_id"], unique=False)
    op.create_index(
        "ix_stock_lots_tenant_id_stock_item_id_expiry_date",
        "stock_lots",
        ["tenant_id", "stock_item_id", "expiry_date"],
        unique=False,
    )
    t = "stock_movements"
    op.create_table(
        t,
        sa.Column("stock_item_id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("prescription_id", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        _check(t, "kind_known", "kind IN ('receive', 'dispense')"),
        _check(t, "quantity_positive", "quantity > 0"),
        _check(
            t,
            "dispense_has_prescription",
            "(kind = 'dispense') = (prescription_id IS NOT NULL AND patient_id IS NOT NULL)",
        ),
        _user_fk(t, "actor_user_id"),
        _tenant_fk(t, ["lot_id"], "stock_lots"),
        _tenant_fk(t, ["patient_id"], "patients"),
        _tenant_fk(t, ["prescription_id"], "prescriptions"),
        _tenant_fk(t, ["stock_item_id"], "stock_items"),
        _tenants_fk(t),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
    )
    op.create_index(op.f("ix_stock_movements_tenant_id"), t, ["tenant_id"], unique=False)
    op.create_index(
        "ix_stock_movements_tenant_id_prescription_id",
        t,
        ["tenant_id", "prescription_id"],
        unique=False,
    )


def upgrade() -> None:
    _prescriptions()
    _findings()
    _stock()
    for table in TABLES:
        tenant_table(table)
    # The movement ledger is append-only for the app.
    op.execute(f"REVOKE UPDATE, DELETE ON TABLE stock_movements FROM {app_role()}")


def downgrade() -> None:
    op.drop_index("ix_stock_movements_tenant_id_prescription_id", table_name="stock_movements")
    op.drop_index(op.f("ix_stock_movements_tenant_id"), table_name="stock_movements")
    op.drop_table("stock_movements")
    op.drop_index("ix_stock_lots_tenant_id_stock_item_id_expiry_date", table_name="stock_lots")
    op.drop_index(op.f("ix_stock_lots_tenant_id"), table_name="stock_lots")
    op.drop_table("stock_lots")
    op.drop_index(op.f("ix_stock_items_tenant_id"), table_name="stock_items")
    op.drop_table("stock_items")
    op.drop_index(
        "ix_prescription_findings_tenant_id_prescription_id", table_name="prescription_findings"
    )
    op.drop_index(op.f("ix_prescription_findings_tenant_id"), table_name="prescription_findings")
    op.drop_table("prescription_findings")
    op.drop_index("ix_prescriptions_tenant_id_patient_id_status", table_name="prescriptions")
    op.drop_index(op.f("ix_prescriptions_tenant_id"), table_name="prescriptions")
    op.drop_index(op.f("ix_prescriptions_patient_id"), table_name="prescriptions")
    op.drop_table("prescriptions")
