"""Synthea import: source keys that make a re-import change nothing, immunizations, and the
few rules relaxed for imported rows only.

- `synthea_source_keys`: (tenant, file, source key) -> the row it became; a key already
  recorded makes its source row "already present".
- `immunizations` (CVX): Synthea records vaccines, which had no place yet.
- `patients.deceased_date`: Synthea records deaths.
- `data_source` on charges, claims, claim lines and diagnoses, prescriptions, orders and
  allergies: NULL for rows written here, `synthea` for imported ones. For imported rows only,
  a charge has no fee schedule (and may not have one: its source priced it), no procedure
  or diagnosis where the source's codes match no record; a claim, its lines and diagnoses
  may lack NPIs and conditions; a prescription may lack dose, route, frequency and signer;
  a collected order may lack its specimen type; an allergy may lack a severity. Several
  imported claims of one encounter may go to one coverage. Claim history gains `import`.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from transactional.migrations.capture import capture_changes, stop_capturing
from transactional.migrations.rls import tenant_table

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KNOWN = "data_source IS NULL OR data_source IN ('synthea')"
LINEAGE_TABLES = (
    "charges",
    "claims",
    "claim_lines",
    "claim_diagnoses",
    "prescriptions",
    "orders",
    "allergies",
)
# (table, column) that are NOT NULL for rows entered here and may be NULL for imported ones.
RELAXED = (
    ("charges", "procedure_id"),
    ("charges", "fee_schedule_id"),
    ("charges", "diagnosis1_id"),
    ("claims", "billing_npi"),
    ("claims", "rendering_npi"),
    ("claim_lines", "rendering_npi"),
    ("claim_diagnoses", "condition_id"),
    ("prescriptions", "dose_value"),
    ("prescriptions", "dose_unit"),
    ("prescriptions", "route_system"),
    ("prescriptions", "route_code"),
    ("prescriptions", "route_display"),
    ("prescriptions", "frequency_code"),
    ("prescriptions", "frequency_display"),
    ("allergies", "severity"),
)
_INSTRUCTIONS = (
    "dose_value IS NOT NULL AND dose_unit IS NOT NULL AND route_system IS NOT NULL"
    " AND route_code IS NOT NULL AND route_display IS NOT NULL"
    " AND frequency_code IS NOT NULL AND frequency_display IS NOT NULL"
)
# (name, table, condition) of the CHECKs this revision adds.
ADDED_CHECKS = (
    (
        "ck_charges_captured_is_priced_and_pointed",
        "charges",
        "data_source IS NOT NULL OR (fee_schedule_id IS NOT NULL AND procedure_id IS NOT NULL"
        " AND diagnosis1_id IS NOT NULL)",
    ),
    (
        "ck_charges_imported_not_from_fee_schedule",
        "charges",
        "data_source IS NULL OR fee_schedule_id IS NULL",
    ),
    (
        "ck_charges_first_pointer_first",
        "charges",
        "diagnosis2_id IS NULL OR diagnosis1_id IS NOT NULL",
    ),
    (
        "ck_claims_claimed_with_npis",
        "claims",
        "data_source IS NOT NULL OR (billing_npi IS NOT NULL AND rendering_npi IS NOT NULL)",
    ),
    (
        "ck_claim_lines_rendered_with_npi",
        "claim_lines",
        "data_source IS NOT NULL OR (rendering_npi IS NOT NULL)",
    ),
    (
        "ck_claim_diagnoses_names_a_condition",
        "claim_diagnoses",
        "data_source IS NOT NULL OR (condition_id IS NOT NULL)",
    ),
    (
        "ck_prescriptions_has_instructions",
        "prescriptions",
        f"data_source IS NOT NULL OR ({_INSTRUCTIONS})",
    ),
    (
        "ck_allergies_graded_unless_imported",
        "allergies",
        "data_source IS NOT NULL OR (severity IS NOT NULL)",
    ),
    (
        "ck_patients_deceased_after_birth",
        "patients",
        "deceased_date IS NULL OR deceased_date >= birth_date",
    ),
)
# (name, table, condition before, condition after) of the CHECKs this revision widens.
REPLACED_CHECKS = (
    (
        "ck_prescriptions_signed_unless_draft",
        "prescriptions",
        "status IN ('draft', 'cancelled') OR (signed_at IS NOT NULL AND signed_by IS NOT NULL)",
        "status IN ('draft', 'cancelled') OR (signed_at IS NOT NULL"
        " AND (signed_by IS NOT NULL OR data_source IS NOT NULL))",
    ),
    (
        "ck_orders_specimen_has_collection_time",
        "orders",
        "(specimen_type IS NULL) = (collected_at IS NULL)",
        "(specimen_type IS NULL) = (collected_at IS NULL)"
        " OR (data_source IS NOT NULL AND collected_at IS NOT NULL)",
    ),
    (
        "ck_claim_events_action_known",
        "claim_events",
        "action IN ('create', 'submit', 'accept', 'deny', 'replace', 'remit')",
        "action IN ('create', 'submit', 'accept', 'deny', 'replace', 'remit', 'import')",
    ),
)
_LIVE_CLAIM_BEFORE = "status <> 'denied'"
_LIVE_CLAIM_AFTER = "status <> 'denied' AND data_source IS NULL"


def _source_keys() -> None:
    op.create_table(
        "synthea_source_keys",
        sa.Column("file", sa.String(length=40), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("target_table", sa.String(length=63), nullable=True),
        sa.Column("target_id", sa.Uuid(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "(target_table IS NULL) = (target_id IS NULL)",
            name=op.f("ck_synthea_source_keys_target_whole"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_synthea_source_keys_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_synthea_source_keys")),
        sa.UniqueConstraint(
            "tenant_id",
            "file",
            "source_key",
            name=op.f("uq_synthea_source_keys_tenant_id_file_source_key"),
        ),
    )
    op.create_index(op.f("ix_synthea_source_keys_tenant_id"), "synthea_source_keys", ["tenant_id"])


def _immunizations() -> None:
    op.create_table(
        "immunizations",
        sa.Column("encounter_id", sa.Uuid(), nullable=True),
        sa.Column("vaccine_system", sa.String(length=200), nullable=False),
        sa.Column("vaccine_code", sa.String(length=16), nullable=False),
        sa.Column("vaccine_display", sa.String(length=300), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "status IN ('completed', 'not_done', 'entered_in_error')",
            name=op.f("ck_immunizations_status_known"),
        ),
        sa.CheckConstraint(
            "vaccine_system = 'http://hl7.org/fhir/sid/cvx'",
            name=op.f("ck_immunizations_vaccine_is_cvx"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_immunizations_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "encounter_id"],
            ["encounters.tenant_id", "encounters.id"],
            name=op.f("fk_immunizations_tenant_id_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_immunizations_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_immunizations_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_immunizations")),
    )
    op.create_index(op.f("ix_immunizations_patient_id"), "immunizations", ["patient_id"])
    op.create_index(op.f("ix_immunizations_tenant_id"), "immunizations", ["tenant_id"])
    op.create_index(
        "ix_immunizations_tenant_id_patient_id_occurred_at",
        "immunizations",
        ["tenant_id", "patient_id", "occurred_at"],
    )


def upgrade() -> None:
    _source_keys()
    _immunizations()
    for table in ("synthea_source_keys", "immunizations"):
        tenant_table(table)
        capture_changes(table)
    op.add_column("patients", sa.Column("deceased_date", sa.Date(), nullable=True))
    for table in LINEAGE_TABLES:
        op.add_column(table, sa.Column("data_source", sa.String(length=16), nullable=True))
        op.create_check_constraint(op.f(f"ck_{table}_data_source_known"), table, _KNOWN)
    for table, column in RELAXED:
        op.alter_column(table, column, nullable=True)
    for name, table, condition in ADDED_CHECKS:
        op.create_check_constraint(op.f(name), table, condition)
    for name, table, _, after in REPLACED_CHECKS:
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, after)
    op.drop_index("ix_claims_one_live_per_coverage", table_name="claims")
    op.create_index(
        "ix_claims_one_live_per_coverage",
        "claims",
        ["tenant_id", "invoice_id", "coverage_id"],
        unique=True,
        postgresql_where=sa.text(_LIVE_CLAIM_AFTER),
    )


def downgrade() -> None:
    """Fails while imported rows exist that the narrower rules refuse; delete them first."""
    op.drop_index("ix_claims_one_live_per_coverage", table_name="claims")
    op.create_index(
        "ix_claims_one_live_per_coverage",
        "claims",
        ["tenant_id", "invoice_id", "coverage_id"],
        unique=True,
        postgresql_where=sa.text(_LIVE_CLAIM_BEFORE),
    )
    for name, table, before, _ in REPLACED_CHECKS:
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, before)
    for name, table, _ in ADDED_CHECKS:
        op.drop_constraint(op.f(name), table, type_="check")
    for table, column in RELAXED:
        op.alter_column(table, column, nullable=False)
    for table in LINEAGE_TABLES:
        op.drop_constraint(op.f(f"ck_{table}_data_source_known"), table, type_="check")
        op.drop_column(table, "data_source")
    op.drop_column("patients", "deceased_date")
    for table in ("immunizations", "synthea_source_keys"):
        stop_capturing(table)
    op.drop_index("ix_immunizations_tenant_id_patient_id_occurred_at", table_name="immunizations")
    op.drop_index(op.f("ix_immunizations_tenant_id"), table_name="immunizations")
    op.drop_index(op.f("ix_immunizations_patient_id"), table_name="immunizations")
    op.drop_table("immunizations")
    op.drop_index(op.f("ix_synthea_source_keys_tenant_id"), table_name="synthea_source_keys")
    op.drop_table("synthea_source_keys")
