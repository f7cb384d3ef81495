"""Patients, identifiers, payers, coverage and allergies, under row-level security.

Also the extensions later tables need: pg_trgm (fuzzy name search) and btree_gist
(exclusion constraints over a provider and a time range). Both are trusted extensions, so
a database owner without superuser may create them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from transactional.migrations.rls import enable_tenant_rls, grant_app, tenant_table

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TENANT_TABLES = ("patients", "patient_identifiers", "payers", "coverages", "allergies")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "mrn_counters",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_mrn_counters_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_mrn_counters")),
    )
    op.create_table(
        "patients",
        sa.Column("mrn", sa.String(length=16), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("middle_name", sa.String(length=100), nullable=True),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column(
            "search_name",
            sa.String(length=202),
            sa.Computed("lower(family_name || ' ' || given_name)", persisted=True),
            nullable=False,
        ),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=16), nullable=False),
        sa.Column("gender_identity", sa.String(length=64), nullable=True),
        sa.Column("race", sa.String(length=64), nullable=True),
        sa.Column("ethnicity", sa.String(length=64), nullable=True),
        sa.Column("preferred_language", sa.String(length=35), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("phone_digits", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("address_line1", sa.String(length=200), nullable=True),
        sa.Column("address_line2", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=50), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("emergency_contact_name", sa.String(length=200), nullable=True),
        sa.Column("emergency_contact_relationship", sa.String(length=50), nullable=True),
        sa.Column("emergency_contact_phone", sa.String(length=32), nullable=True),
        sa.Column("ssn_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("ssn_blind_index", sa.String(length=64), nullable=True),
        sa.Column("ssn_last4", sa.String(length=4), nullable=True),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.Uuid(), nullable=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "birth_date >= DATE '1880-01-01'", name=op.f("ck_patients_birth_date_plausible")
        ),
        sa.CheckConstraint(
            "sex IN ('male', 'female', 'other', 'unknown')", name=op.f("ck_patients_sex_known")
        ),
        sa.CheckConstraint(
            "merged_into_id IS NULL OR merged_into_id <> id",
            name=op.f("ck_patients_not_merged_into_self"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "merged_into_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_patients_tenant_id_merged_into_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_patients_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_patients_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "mrn", name=op.f("uq_patients_tenant_id_mrn")),
    )
    op.create_index(
        "ix_patients_search_name_trgm",
        "patients",
        ["search_name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_name": "gin_trgm_ops"},
    )
    op.create_index(op.f("ix_patients_tenant_id"), "patients", ["tenant_id"], unique=False)
    op.create_index(
        "ix_patients_tenant_id_birth_date", "patients", ["tenant_id", "birth_date"], unique=False
    )
    op.create_index(
        "ix_patients_tenant_id_family_name_given_name_id",
        "patients",
        ["tenant_id", "family_name", "given_name", "id"],
        unique=False,
    )
    op.create_index(
        "ix_patients_tenant_id_phone_digits",
        "patients",
        ["tenant_id", "phone_digits"],
        unique=False,
    )
    op.create_index(
        "ix_patients_tenant_id_ssn_blind_index",
        "patients",
        ["tenant_id", "ssn_blind_index"],
        unique=False,
    )
    op.create_table(
        "payers",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("payer_type", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "payer_type IN ('commercial', 'medicare', 'medicaid', 'self_pay', 'workers_comp', 'other')",
            name=op.f("ck_payers_payer_type_known"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_payers_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payers")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_payers_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_payers_tenant_id_name")),
    )
    op.create_index(op.f("ix_payers_tenant_id"), "payers", ["tenant_id"], unique=False)
    op.create_table(
        "allergies",
        sa.Column("substance_system", sa.String(length=200), nullable=False),
        sa.Column("substance_code", sa.String(length=64), nullable=False),
        sa.Column("substance_display", sa.String(length=300), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("reaction", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "category IS NULL OR category IN ('medication', 'food', 'environment', 'biologic')",
            name=op.f("ck_allergies_category_known"),
        ),
        sa.CheckConstraint(
            "severity IN ('mild', 'moderate', 'severe')", name=op.f("ck_allergies_severity_known")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'inactive', 'resolved', 'entered_in_error')",
            name=op.f("ck_allergies_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_allergies_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name="fk_allergies_patient",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_allergies_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allergies")),
    )
    op.create_index(op.f("ix_allergies_patient_id"), "allergies", ["patient_id"], unique=False)
    op.create_index(op.f("ix_allergies_tenant_id"), "allergies", ["tenant_id"], unique=False)
    op.create_table(
        "coverages",
        sa.Column("payer_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("group_number", sa.String(length=64), nullable=True),
        sa.Column("plan_name", sa.String(length=200), nullable=True),
        sa.Column("subscriber_relationship", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'cancelled')", name=op.f("ck_coverages_status_known")
        ),
        sa.CheckConstraint(
            "subscriber_relationship IN ('self', 'spouse', 'child', 'other')",
            name=op.f("ck_coverages_relationship_known"),
        ),
        sa.CheckConstraint(
            "period_end IS NULL OR period_end >= period_start",
            name=op.f("ck_coverages_period_ordered"),
        ),
        sa.CheckConstraint("priority BETWEEN 1 AND 9", name=op.f("ck_coverages_priority_range")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name="fk_coverages_patient",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "payer_id"],
            ["payers.tenant_id", "payers.id"],
            name=op.f("fk_coverages_tenant_id_payer_id_payers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_coverages_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverages")),
    )
    op.create_index(op.f("ix_coverages_patient_id"), "coverages", ["patient_id"], unique=False)
    op.create_index(op.f("ix_coverages_tenant_id"), "coverages", ["tenant_id"], unique=False)
    op.create_table(
        "patient_identifiers",
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("type_code", sa.String(length=20), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name="fk_patient_identifiers_patient",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_patient_identifiers_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_identifiers")),
        sa.UniqueConstraint(
            "tenant_id",
            "system",
            "value",
            name=op.f("uq_patient_identifiers_tenant_id_system_value"),
        ),
    )
    op.create_index(
        op.f("ix_patient_identifiers_patient_id"),
        "patient_identifiers",
        ["patient_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_patient_identifiers_tenant_id"), "patient_identifiers", ["tenant_id"], unique=False
    )
    for table in TENANT_TABLES:
        tenant_table(table)
    # MRNs are allocated by incrementing this row; the app may not delete or reset it.
    grant_app("mrn_counters", "SELECT, INSERT, UPDATE")
    enable_tenant_rls("mrn_counters")


def downgrade() -> None:
    op.drop_index(op.f("ix_patient_identifiers_tenant_id"), table_name="patient_identifiers")
    op.drop_index(op.f("ix_patient_identifiers_patient_id"), table_name="patient_identifiers")
    op.drop_table("patient_identifiers")
    op.drop_index(op.f("ix_coverages_tenant_id"), table_name="coverages")
    op.drop_index(op.f("ix_coverages_patient_id"), table_name="coverages")
    op.drop_table("coverages")
    op.drop_index(op.f("ix_allergies_tenant_id"), table_name="allergies")
    op.drop_index(op.f("ix_allergies_patient_id"), table_name="allergies")
    op.drop_table("allergies")
    op.drop_index(op.f("ix_payers_tenant_id"), table_name="payers")
    op.drop_table("payers")
    op.drop_index("ix_patients_tenant_id_ssn_blind_index", table_name="patients")
    op.drop_index("ix_patients_tenant_id_phone_digits", table_name="patients")
    op.drop_index("ix_patients_tenant_id_family_name_given_name_id", table_name="patients")
    op.drop_index("ix_patients_tenant_id_birth_date", table_name="patients")
    op.drop_index(op.f("ix_patients_tenant_id"), table_name="patients")
    op.drop_index(
        "ix_patients_search_name_trgm",
        table_name="patients",
        postgresql_using="gin",
        postgresql_ops={"search_name": "gin_trgm_ops"},
    )
    op.drop_table("patients")
    op.drop_table("mrn_counters")
