"""Risk scores written back from the risk models (ml/): one row per computation, kept as
history, read by the API as the newest row per model.

Tenant-owned under row-level security and captured for the warehouse. The app role may insert
and read; it may update only `patient_id` (and `updated_at`), which a patient merge re-points.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from transactional.migrations.capture import capture_changes, stop_capturing
from transactional.migrations.rls import tenant_table

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_scores",
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Numeric(precision=9, scale=8), nullable=False),
        sa.Column("tier", sa.String(length=10), nullable=False),
        sa.Column("factors", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("missing_inputs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("index_date", sa.Date(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_by", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("model ~ '^[a-z][a-z0-9_]*$'", name=op.f("ck_risk_scores_model_format")),
        sa.CheckConstraint(
            "score >= 0 AND score <= 1", name=op.f("ck_risk_scores_score_is_probability")
        ),
        sa.CheckConstraint(
            "tier IN ('low', 'medium', 'high')", name=op.f("ck_risk_scores_tier_known")
        ),
        sa.CheckConstraint(
            "source IN ('batch', 'on_demand')", name=op.f("ck_risk_scores_source_known")
        ),
        sa.CheckConstraint(
            "jsonb_typeof(factors) = 'array'", name=op.f("ck_risk_scores_factors_is_array")
        ),
        sa.CheckConstraint(
            "jsonb_typeof(missing_inputs) = 'array'",
            name=op.f("ck_risk_scores_missing_inputs_is_array"),
        ),
        sa.ForeignKeyConstraint(
            ["computed_by"], ["users.id"], name=op.f("fk_risk_scores_computed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "encounter_id"],
            ["encounters.tenant_id", "encounters.id"],
            name=op.f("fk_risk_scores_tenant_id_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_risk_scores_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_risk_scores_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_scores")),
    )
    op.create_index(op.f("ix_risk_scores_patient_id"), "risk_scores", ["patient_id"])
    op.create_index(op.f("ix_risk_scores_tenant_id"), "risk_scores", ["tenant_id"])
    op.create_index(
        "ix_risk_scores_tenant_id_patient_id_model_computed_at",
        "risk_scores",
        ["tenant_id", "patient_id", "model", "computed_at"],
    )
    tenant_table("risk_scores", "SELECT, INSERT, UPDATE (patient_id, updated_at)")
    capture_changes("risk_scores")


def downgrade() -> None:
    stop_capturing("risk_scores")
    op.drop_table("risk_scores")
