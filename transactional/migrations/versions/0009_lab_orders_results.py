"""Lab and imaging orders, results with reference ranges and flags, clinical alerts.

What must hold whoever writes is enforced here, not only in the services: an order's status
moves only along its workflow; results are inserted only on a laboratory order whose
specimen is collected, and afterwards change only by being superseded or entered in error;
a final imaging report never changes; a closed alert never changes; none of these rows is
ever deleted. Each guard lets a patient merge re-point `patient_id`.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from transactional.migrations.rls import tenant_table

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("orders", "lab_results", "imaging_reports", "clinical_alerts")

# Each guard ignores `patient_id` and `updated_at`: a patient merge re-points every row.
GUARDS = {
    "orders": """
        BEGIN
            IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
                (OLD.status = 'active' AND NEW.status IN
                    ('specimen_collected', 'resulted', 'cancelled', 'entered_in_error'))
                OR (OLD.status = 'specimen_collected' AND NEW.status IN
                    ('resulted', 'cancelled', 'entered_in_error'))
                OR (OLD.status = 'resulted' AND NEW.status = 'entered_in_error')
            ) THEN
                RAISE EXCEPTION 'an order cannot go from % to %', OLD.status, NEW.status
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF OLD.result_status = 'final' AND NEW.result_status IS DISTINCT FROM 'final' THEN
                RAISE EXCEPTION 'final results of an order cannot become preliminary'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF (NEW.category, NEW.code_system, NEW.code, NEW.practitioner_id, NEW.ordered_at)
                IS DISTINCT FROM
               (OLD.category, OLD.code_system, OLD.code, OLD.practitioner_id, OLD.ordered_at)
               OR (OLD.status IN ('cancelled', 'entered_in_error')
                   AND (to_jsonb(NEW) - 'patient_id' - 'updated_at') <> (to_jsonb(OLD) - 'patient_id' - 'updated_at')) THEN
                RAISE EXCEPTION 'what was ordered, and a closed order, never change'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END""",
    "lab_results": """
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'lab results are never deleted; enter them in error'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF TG_OP = 'INSERT' THEN
                IF NOT EXISTS (
                    SELECT 1 FROM orders o
                    WHERE o.tenant_id = NEW.tenant_id AND o.id = NEW.order_id
                      AND o.patient_id = NEW.patient_id AND o.category = 'laboratory'
                      AND o.status IN ('specimen_collected', 'resulted')
                ) THEN
                    RAISE EXCEPTION 'results need a laboratory order whose specimen is collected'
                        USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN NEW;
            END IF;
            IF (to_jsonb(NEW) - 'status' - 'patient_id' - 'updated_at') <> (to_jsonb(OLD) - 'status' - 'patient_id' - 'updated_at')
               OR (NEW.status <> OLD.status AND NOT (
                   (OLD.status = 'preliminary' AND NEW.status IN ('superseded', 'entered_in_error'))
                   OR (OLD.status = 'final' AND NEW.status = 'entered_in_error'))) THEN
                RAISE EXCEPTION 'a stored result never changes; supersede it or enter it in error'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END""",
    "imaging_reports": """
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'reports are never deleted'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF OLD.status = 'final' AND (to_jsonb(NEW) - 'patient_id' - 'updated_at') <> (to_jsonb(OLD) - 'patient_id' - 'updated_at') THEN
                RAISE EXCEPTION 'a final report is immutable; add a correction or an addendum'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END""",
    "clinical_alerts": """
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'alerts are never deleted'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF (OLD.status <> 'open' AND (to_jsonb(NEW) - 'patient_id' - 'updated_at') <> (to_jsonb(OLD) - 'patient_id' - 'updated_at'))
               OR (to_jsonb(NEW) - 'status' - 'acted_by' - 'acted_at' - 'reason' - 'patient_id' - 'updated_at')
                  <> (to_jsonb(OLD) - 'status' - 'acted_by' - 'acted_at' - 'reason' - 'patient_id' - 'updated_at') THEN
                RAISE EXCEPTION 'a closed alert never changes, and an open one only closes'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END""",
}
EVENTS = {
    "orders": "BEFORE UPDATE",
    "lab_results": "BEFORE INSERT OR UPDATE OR DELETE",
    "imaging_reports": "BEFORE UPDATE OR DELETE",
    "clinical_alerts": "BEFORE UPDATE OR DELETE",
}


def upgrade() -> None:
    op.create_table(
        "clinical_alerts",
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("rule_id", sa.String(length=100), nullable=True),
        sa.Column("rule_version", sa.String(length=40), nullable=True),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("suggested_actions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recipient_practitioner_id", sa.Uuid(), nullable=True),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("acted_by", sa.Uuid(), nullable=True),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "(status = 'open') = (acted_at IS NULL)",
            name=op.f("ck_clinical_alerts_closed_has_time"),
        ),
        sa.CheckConstraint(
            "jsonb_typeof(data) = 'object'", name=op.f("ck_clinical_alerts_data_is_object")
        ),
        sa.CheckConstraint(
            "jsonb_typeof(suggested_actions) = 'array'",
            name=op.f("ck_clinical_alerts_suggested_actions_is_array"),
        ),
        sa.CheckConstraint(
            "kind ~ '^[a-z][a-z0-9_]*$'", name=op.f("ck_clinical_alerts_kind_format")
        ),
        sa.CheckConstraint(
            "severity IN ('info', 'warning', 'critical')",
            name=op.f("ck_clinical_alerts_severity_known"),
        ),
        sa.CheckConstraint(
            "source ~ '^[a-z][a-z0-9_]*$'", name=op.f("ck_clinical_alerts_source_format")
        ),
        sa.CheckConstraint(
            "status <> 'overridden' OR length(btrim(coalesce(reason, ''))) > 0",
            name=op.f("ck_clinical_alerts_override_has_reason"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'acknowledged', 'overridden', 'resolved')",
            name=op.f("ck_clinical_alerts_status_known"),
        ),
        sa.CheckConstraint(
            "status NOT IN ('acknowledged', 'overridden') OR acted_by IS NOT NULL",
            name=op.f("ck_clinical_alerts_user_action_has_user"),
        ),
        sa.CheckConstraint(
            "subject_type ~ '^[a-z][a-z0-9_]*$'",
            name=op.f("ck_clinical_alerts_subject_type_format"),
        ),
        sa.CheckConstraint(
            "rule_version IS NULL OR rule_id IS NOT NULL",
            name=op.f("ck_clinical_alerts_version_needs_rule"),
        ),
        sa.ForeignKeyConstraint(
            ["acted_by"], ["users.id"], name=op.f("fk_clinical_alerts_acted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_clinical_alerts_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "recipient_practitioner_id"],
            ["practitioners.tenant_id", "practitioners.id"],
            name=op.f("fk_clinical_alerts_tenant_id_recipient_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_clinical_alerts_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinical_alerts")),
    )
    op.create_index(
        "ix_clinical_alerts_inbox",
        "clinical_alerts",
        ["tenant_id", "recipient_practitioner_id", "status", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_clinical_alerts_patient_id"), "clinical_alerts", ["patient_id"], unique=False
    )
    op.create_index(
        op.f("ix_clinical_alerts_tenant_id"), "clinical_alerts", ["tenant_id"], unique=False
    )
    op.create_index(
        "ix_clinical_alerts_tenant_id_patient_id_created_at",
        "clinical_alerts",
        ["tenant_id", "patient_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "uq_clinical_alerts_one_open_per_subject",
        "clinical_alerts",
        ["tenant_id", "kind", "subject_type", "subject_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "orders",
        sa.Column("encounter_id", sa.Uuid(), nullable=True),
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("code_system", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("display", sa.String(length=300), nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column(
            "priority_rank",
            sa.SmallInteger(),
            sa.Computed(
                "CASE priority WHEN 'stat' THEN 0 WHEN 'asap' THEN 1 WHEN 'urgent' THEN 2 ELSE 3 END",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("reason_system", sa.String(length=200), nullable=True),
        sa.Column("reason_code", sa.String(length=32), nullable=True),
        sa.Column("reason_display", sa.String(length=300), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("result_status", sa.String(length=12), nullable=True),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ordered_by", sa.Uuid(), nullable=True),
        sa.Column("specimen_type", sa.String(length=24), nullable=True),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("collected_by", sa.Uuid(), nullable=True),
        sa.Column("resulted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Uuid(), nullable=True),
        sa.Column("closed_reason", sa.String(length=500), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "(category = 'laboratory' AND code_system = 'http://loinc.org') OR (category = 'imaging' AND code_system IN ('http://loinc.org', 'http://www.ama-assn.org/go/cpt'))",
            name=op.f("ck_orders_code_system_fits_category"),
        ),
        sa.CheckConstraint(
            "(status IN ('cancelled', 'entered_in_error')) = (closed_at IS NOT NULL AND closed_reason IS NOT NULL)",
            name=op.f("ck_orders_closed_has_reason"),
        ),
        sa.CheckConstraint(
            "category <> 'laboratory' OR status NOT IN ('specimen_collected', 'resulted') OR collected_at IS NOT NULL",
            name=op.f("ck_orders_lab_result_needs_specimen"),
        ),
        sa.CheckConstraint(
            "category = 'laboratory' OR specimen_type IS NULL",
            name=op.f("ck_orders_specimen_only_laboratory"),
        ),
        sa.CheckConstraint(
            "category IN ('laboratory', 'imaging')", name=op.f("ck_orders_category_known")
        ),
        sa.CheckConstraint(
            "priority IN ('routine', 'urgent', 'asap', 'stat')",
            name=op.f("ck_orders_priority_known"),
        ),
        sa.CheckConstraint(
            "result_status IS NULL OR result_status IN ('preliminary', 'final')",
            name=op.f("ck_orders_result_status_known"),
        ),
        sa.CheckConstraint(
            "result_status IS NULL OR status IN ('resulted', 'entered_in_error')",
            name=op.f("ck_orders_result_status_only_when_resulted"),
        ),
        sa.CheckConstraint(
            "specimen_type IS NULL OR specimen_type IN ('blood', 'serum', 'plasma', 'urine', 'stool', 'cerebrospinal_fluid', 'saliva', 'buccal_swab', 'nasopharyngeal_swab', 'tissue')",
            name=op.f("ck_orders_specimen_type_known"),
        ),
        sa.CheckConstraint(
            "status <> 'resulted' OR (result_status IS NOT NULL AND resulted_at IS NOT NULL)",
            name=op.f("ck_orders_resulted_has_result_status"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'specimen_collected', 'resulted', 'cancelled', 'entered_in_error')",
            name=op.f("ck_orders_status_known"),
        ),
        sa.CheckConstraint(
            "(reason_system IS NULL) = (reason_code IS NULL)",
            name=op.f("ck_orders_reason_coded_with_system"),
        ),
        sa.CheckConstraint(
            "(specimen_type IS NULL) = (collected_at IS NULL)",
            name=op.f("ck_orders_specimen_has_collection_time"),
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["users.id"], name=op.f("fk_orders_closed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["collected_by"], ["users.id"], name=op.f("fk_orders_collected_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["ordered_by"], ["users.id"], name=op.f("fk_orders_ordered_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "encounter_id"],
            ["encounters.tenant_id", "encounters.id"],
            name=op.f("fk_orders_tenant_id_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_orders_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "practitioner_id"],
            ["practitioners.tenant_id", "practitioners.id"],
            name=op.f("fk_orders_tenant_id_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_orders_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_orders_tenant_id_id")),
    )
    op.create_index(op.f("ix_orders_patient_id"), "orders", ["patient_id"], unique=False)
    op.create_index(op.f("ix_orders_tenant_id"), "orders", ["tenant_id"], unique=False)
    op.create_index(
        "ix_orders_tenant_id_patient_id_ordered_at",
        "orders",
        ["tenant_id", "patient_id", "ordered_at"],
        unique=False,
    )
    op.create_index(
        "ix_orders_worklist",
        "orders",
        ["tenant_id", "status", "category", "priority_rank", "ordered_at", "id"],
        unique=False,
    )
    op.create_table(
        "imaging_reports",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "(status = 'final') = (signed_at IS NOT NULL AND signed_by IS NOT NULL)",
            name=op.f("ck_imaging_reports_final_has_signer"),
        ),
        sa.CheckConstraint(
            "(version = 1) = (kind = 'original')",
            name=op.f("ck_imaging_reports_first_version_is_original"),
        ),
        sa.CheckConstraint(
            "kind = 'original' OR reason IS NOT NULL",
            name=op.f("ck_imaging_reports_revision_has_reason"),
        ),
        sa.CheckConstraint(
            "kind IN ('original', 'correction', 'addendum')",
            name=op.f("ck_imaging_reports_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'final')", name=op.f("ck_imaging_reports_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_imaging_reports_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by"], ["users.id"], name=op.f("fk_imaging_reports_signed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_imaging_reports_tenant_id_order_id_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_imaging_reports_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_imaging_reports_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imaging_reports")),
        sa.UniqueConstraint(
            "tenant_id",
            "order_id",
            "version",
            name=op.f("uq_imaging_reports_tenant_id_order_id_version"),
        ),
    )
    op.create_index(
        op.f("ix_imaging_reports_patient_id"), "imaging_reports", ["patient_id"], unique=False
    )
    op.create_index(
        op.f("ix_imaging_reports_tenant_id"), "imaging_reports", ["tenant_id"], unique=False
    )
    op.create_index(
        "uq_imaging_reports_one_draft",
        "imaging_reports",
        ["tenant_id", "order_id"],
        unique=True,
        postgresql_where=sa.text("status = 'draft'"),
    )
    op.create_table(
        "lab_results",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("code_system", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("display", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=True),
        sa.Column("value_code_system", sa.String(length=200), nullable=True),
        sa.Column("value_code", sa.String(length=32), nullable=True),
        sa.Column("value_display", sa.String(length=300), nullable=True),
        sa.Column("value_text", sa.String(length=2000), nullable=True),
        sa.Column("reference_low", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("reference_high", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("critical_low", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("critical_high", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("abnormal_flag", sa.String(length=2), nullable=True),
        sa.Column("interpretation", sa.String(length=1000), nullable=True),
        sa.Column("catalog_version", sa.String(length=16), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "abnormal_flag IS NULL OR abnormal_flag = 'N' OR (abnormal_flag = 'A') = (value IS NULL)",
            name=op.f("ck_lab_results_flag_fits_value"),
        ),
        sa.CheckConstraint(
            "abnormal_flag IS NULL OR abnormal_flag IN ('N', 'L', 'H', 'LL', 'HH', 'A')",
            name=op.f("ck_lab_results_flag_known"),
        ),
        sa.CheckConstraint(
            "code_system = 'http://loinc.org'", name=op.f("ck_lab_results_code_is_loinc")
        ),
        sa.CheckConstraint(
            "status IN ('preliminary', 'final', 'superseded', 'entered_in_error')",
            name=op.f("ck_lab_results_status_known"),
        ),
        sa.CheckConstraint(
            "(value IS NULL) = (unit IS NULL)", name=op.f("ck_lab_results_value_has_unit")
        ),
        sa.CheckConstraint(
            "(value_code IS NULL) = (value_code_system IS NULL)",
            name=op.f("ck_lab_results_value_code_has_system"),
        ),
        sa.CheckConstraint(
            "reference_low IS NULL OR reference_high IS NULL OR reference_low <= reference_high",
            name=op.f("ck_lab_results_reference_range_ordered"),
        ),
        sa.CheckConstraint(
            "value IS NOT NULL OR value_code IS NOT NULL OR value_text IS NOT NULL",
            name=op.f("ck_lab_results_has_a_value"),
        ),
        sa.CheckConstraint(
            "value IS NULL OR (value_code IS NULL AND value_text IS NULL)",
            name=op.f("ck_lab_results_numeric_or_qualitative"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_lab_results_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_lab_results_tenant_id_order_id_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name=op.f("fk_lab_results_tenant_id_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_lab_results_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_results")),
    )
    op.create_index(op.f("ix_lab_results_patient_id"), "lab_results", ["patient_id"], unique=False)
    op.create_index(op.f("ix_lab_results_tenant_id"), "lab_results", ["tenant_id"], unique=False)
    op.create_index(
        "ix_lab_results_tenant_id_order_id", "lab_results", ["tenant_id", "order_id"], unique=False
    )
    op.create_index(
        "ix_lab_results_tenant_id_patient_id_code",
        "lab_results",
        ["tenant_id", "patient_id", "code"],
        unique=False,
    )
    op.create_index(
        "uq_lab_results_current_per_test",
        "lab_results",
        ["tenant_id", "order_id", "code"],
        unique=True,
        postgresql_where=sa.text("status IN ('preliminary', 'final')"),
    )

    for table in TABLES:
        # Clinical records are never deleted by the app: they are entered in error instead.
        tenant_table(table, "SELECT, INSERT, UPDATE")
        op.execute(
            f"CREATE FUNCTION {table}_guard() RETURNS trigger LANGUAGE plpgsql AS $${GUARDS[table]} $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_guard {EVENTS[table]} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_guard()"
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.execute(f"DROP TRIGGER {table}_guard ON {table}")
        op.execute(f"DROP FUNCTION {table}_guard()")
    op.drop_index("uq_lab_results_current_per_test", table_name="lab_results")
    op.drop_index("ix_lab_results_tenant_id_patient_id_code", table_name="lab_results")
    op.drop_index("ix_lab_results_tenant_id_order_id", table_name="lab_results")
    op.drop_index(op.f("ix_lab_results_tenant_id"), table_name="lab_results")
    op.drop_index(op.f("ix_lab_results_patient_id"), table_name="lab_results")
    op.drop_table("lab_results")
    op.drop_index("uq_imaging_reports_one_draft", table_name="imaging_reports")
    op.drop_index(op.f("ix_imaging_reports_tenant_id"), table_name="imaging_reports")
    op.drop_index(op.f("ix_imaging_reports_patient_id"), table_name="imaging_reports")
    op.drop_table("imaging_reports")
    op.drop_index("ix_orders_worklist", table_name="orders")
    op.drop_index("ix_orders_tenant_id_patient_id_ordered_at", table_name="orders")
    op.drop_index(op.f("ix_orders_tenant_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_patient_id"), table_name="orders")
    op.drop_table("orders")
    op.drop_index("uq_clinical_alerts_one_open_per_subject", table_name="clinical_alerts")
    op.drop_index(
        "ix_clinical_alerts_tenant_id_patient_id_created_at", table_name="clinical_alerts"
    )
    op.drop_index(op.f("ix_clinical_alerts_tenant_id"), table_name="clinical_alerts")
    op.drop_index(op.f("ix_clinical_alerts_patient_id"), table_name="clinical_alerts")
    op.drop_index("ix_clinical_alerts_inbox", table_name="clinical_alerts")
    op.drop_table("clinical_alerts")
