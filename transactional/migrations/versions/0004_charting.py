"""Encounters, SOAP notes, observations, conditions and procedures, under row-level security.

Signed note versions are immutable in the database: a trigger refuses UPDATE and DELETE of a
row whose status was already 'signed', whoever asks.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from transactional.migrations.rls import app_role, tenant_table

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = ("encounters", "clinical_notes", "observations", "conditions", "procedures")


def upgrade() -> None:
    op.create_table(
        "encounters",
        sa.Column("encounter_class", sa.String(length=16), nullable=False),
        sa.Column("type_system", sa.String(length=200), nullable=True),
        sa.Column("type_code", sa.String(length=32), nullable=True),
        sa.Column("type_display", sa.String(length=300), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("admit_source", sa.String(length=40), nullable=True),
        sa.Column("discharged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discharge_disposition", sa.String(length=40), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "encounter_class = 'inpatient' OR (admitted_at IS NULL AND discharged_at IS NULL)",
            name=op.f("ck_encounters_admission_only_inpatient"),
        ),
        sa.CheckConstraint(
            "encounter_class IN ('ambulatory', 'emergency', 'inpatient')",
            name=op.f("ck_encounters_class_known"),
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'in_progress', 'finished', 'cancelled', 'entered_in_error')",
            name=op.f("ck_encounters_status_known"),
        ),
        sa.CheckConstraint(
            "discharged_at IS NULL OR (admitted_at IS NOT NULL AND discharged_at >= admitted_at)",
            name=op.f("ck_encounters_discharge_after_admission"),
        ),
        sa.CheckConstraint(
            "end_at IS NULL OR end_at >= start_at", name=op.f("ck_encounters_period_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_encounters_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "location_id"],
            ["locations.tenant_id", "locations.id"],
            name=op.f("fk_encounters_tenant_id_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_encounters_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "practitioner_id"],
            ["practitioners.tenant_id", "practitioners.id"],
            name=op.f("fk_encounters_tenant_id_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_encounters_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encounters")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_encounters_appointment_id")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_encounters_tenant_id_id")),
    )
    op.create_index(op.f("ix_encounters_patient_id"), "encounters", ["patient_id"], unique=False)
    op.create_index(op.f("ix_encounters_tenant_id"), "encounters", ["tenant_id"], unique=False)
    op.create_index(
        "ix_encounters_tenant_id_patient_id_start_at",
        "encounters",
        ["tenant_id", "patient_id", "start_at"],
        unique=False,
    )
    op.create_table(
        "clinical_notes",
        sa.Column("note_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("subjective", sa.Text(), nullable=False),
        sa.Column("objective", sa.Text(), nullable=False),
        sa.Column("assessment", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by", sa.Uuid(), nullable=True),
        sa.Column("amendment_reason", sa.String(length=500), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "(status = 'signed') = (signed_at IS NOT NULL AND signed_by IS NOT NULL)",
            name=op.f("ck_clinical_notes_signed_has_signer"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'signed')", name=op.f("ck_clinical_notes_status_known")
        ),
        sa.CheckConstraint(
            "version = 1 OR amendment_reason IS NOT NULL",
            name=op.f("ck_clinical_notes_amendment_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_clinical_notes_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by"], ["users.id"], name=op.f("fk_clinical_notes_signed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "encounter_id"],
            ["encounters.tenant_id", "encounters.id"],
            name=op.f("fk_clinical_notes_tenant_id_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_clinical_notes_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_clinical_notes_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinical_notes")),
        sa.UniqueConstraint(
            "tenant_id",
            "note_id",
            "version",
            name=op.f("uq_clinical_notes_tenant_id_note_id_version"),
        ),
    )
    op.create_index(op.f("ix_clinical_notes_note_id"), "clinical_notes", ["note_id"], unique=False)
    op.create_index(
        op.f("ix_clinical_notes_patient_id"), "clinical_notes", ["patient_id"], unique=False
    )
    op.create_index(
        op.f("ix_clinical_notes_tenant_id"), "clinical_notes", ["tenant_id"], unique=False
    )
    op.create_table(
        "conditions",
        sa.Column("encounter_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("code_system", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("display", sa.String(length=300), nullable=True),
        sa.Column("clinical_status", sa.String(length=12), nullable=False),
        sa.Column("verification_status", sa.String(length=16), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=True),
        sa.Column("abatement_date", sa.Date(), nullable=True),
        sa.Column("rank", sa.SmallInteger(), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "category <> 'encounter_diagnosis' OR encounter_id IS NOT NULL",
            name=op.f("ck_conditions_diagnosis_has_encounter"),
        ),
        sa.CheckConstraint(
            "category IN ('encounter_diagnosis', 'problem_list_item')",
            name=op.f("ck_conditions_category_known"),
        ),
        sa.CheckConstraint(
            "clinical_status IN ('active', 'recurrence', 'relapse', 'inactive', 'remission', 'resolved')",
            name=op.f("ck_conditions_clinical_status_known"),
        ),
        sa.CheckConstraint(
            "verification_status IN ('provisional', 'differential', 'confirmed', 'refuted', 'entered_in_error')",
            name=op.f("ck_conditions_verification_status_known"),
        ),
        sa.CheckConstraint(
            "abatement_date IS NULL OR abatement_date >= onset_date",
            name=op.f("ck_conditions_abates_after_onset"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_conditions_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "encounter_id"],
            ["encounters.tenant_id", "encounters.id"],
            name=op.f("fk_conditions_tenant_id_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_conditions_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_conditions_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conditions")),
    )
    op.create_index(op.f("ix_conditions_patient_id"), "conditions", ["patient_id"], unique=False)
    op.create_index(op.f("ix_conditions_tenant_id"), "conditions", ["tenant_id"], unique=False)
    op.create_index(
        "ix_conditions_tenant_id_patient_id_code",
        "conditions",
        ["tenant_id", "patient_id", "code"],
        unique=False,
    )
    op.create_table(
        "observations",
        sa.Column("encounter_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("code_system", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("display", sa.String(length=300), nullable=True),
        sa.Column("value", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("is_derived", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "status IN ('final', 'entered_in_error')", name=op.f("ck_observations_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_observations_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "encounter_id"],
            ["encounters.tenant_id", "encounters.id"],
            name=op.f("fk_observations_tenant_id_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_observations_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_observations_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
    )
    op.create_index(
        op.f("ix_observations_patient_id"), "observations", ["patient_id"], unique=False
    )
    op.create_index(op.f("ix_observations_tenant_id"), "observations", ["tenant_id"], unique=False)
    op.create_index(
        "ix_observations_tenant_id_patient_id_code",
        "observations",
        ["tenant_id", "patient_id", "code"],
        unique=False,
    )
    op.create_table(
        "procedures",
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("code_system", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("display", sa.String(length=300), nullable=True),
        sa.Column("modifiers", sa.String(length=20), nullable=True),
        sa.Column("units", sa.SmallInteger(), nullable=False),
        sa.Column("performed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("performer_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "status IN ('completed', 'not_done', 'entered_in_error')",
            name=op.f("ck_procedures_status_known"),
        ),
        sa.CheckConstraint("units >= 1", name=op.f("ck_procedures_units_positive")),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_procedures_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "encounter_id"],
            ["encounters.tenant_id", "encounters.id"],
            name=op.f("fk_procedures_tenant_id_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_procedures_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "performer_id"],
            ["practitioners.tenant_id", "practitioners.id"],
            name=op.f("fk_procedures_tenant_id_performer_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_procedures_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedures")),
    )
    op.create_index(op.f("ix_procedures_patient_id"), "procedures", ["patient_id"], unique=False)
    op.create_index(op.f("ix_procedures_tenant_id"), "procedures", ["tenant_id"], unique=False)
    for table in TABLES:
        tenant_table(table)
    # Notes are never deleted by the app; versions replace them.
    op.execute(f"REVOKE DELETE ON TABLE clinical_notes FROM {app_role()}")
    op.execute(
        """
        CREATE FUNCTION clinical_notes_signed_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.status = 'signed' THEN
                RAISE EXCEPTION 'a signed note version is immutable; amend it instead'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER clinical_notes_signed_immutable BEFORE UPDATE OR DELETE ON clinical_notes "
        "FOR EACH ROW EXECUTE FUNCTION clinical_notes_signed_immutable()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER clinical_notes_signed_immutable ON clinical_notes")
    op.execute("DROP FUNCTION clinical_notes_signed_immutable()")
    op.drop_index(op.f("ix_procedures_tenant_id"), table_name="procedures")
    op.drop_index(op.f("ix_procedures_patient_id"), table_name="procedures")
    op.drop_table("procedures")
    op.drop_index("ix_observations_tenant_id_patient_id_code", table_name="observations")
    op.drop_index(op.f("ix_observations_tenant_id"), table_name="observations")
    op.drop_index(op.f("ix_observations_patient_id"), table_name="observations")
    op.drop_table("observations")
    op.drop_index("ix_conditions_tenant_id_patient_id_code", table_name="conditions")
    op.drop_index(op.f("ix_conditions_tenant_id"), table_name="conditions")
    op.drop_index(op.f("ix_conditions_patient_id"), table_name="conditions")
    op.drop_table("conditions")
    op.drop_index(op.f("ix_clinical_notes_tenant_id"), table_name="clinical_notes")
    op.drop_index(op.f("ix_clinical_notes_patient_id"), table_name="clinical_notes")
    op.drop_index(op.f("ix_clinical_notes_note_id"), table_name="clinical_notes")
    op.drop_table("clinical_notes")
    op.drop_index("ix_encounters_tenant_id_patient_id_start_at", table_name="encounters")
    op.drop_index(op.f("ix_encounters_tenant_id"), table_name="encounters")
    op.drop_index(op.f("ix_encounters_patient_id"), table_name="encounters")
    op.drop_table("encounters")
