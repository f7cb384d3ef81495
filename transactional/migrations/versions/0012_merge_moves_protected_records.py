"""A patient merge may move records that are otherwise never changed.

Merging re-points every row that references the duplicate patient to the survivor. Signed
notes, posted charges, payments, adjustments and stock movements refuse any change, so a
merge of a patient with any of them failed. Each refusing trigger now lets through exactly
one kind of update: the row moves to the patient named by the transaction's merge marker
(`app.merge_survivor`, set by `transactional.patients.merge`) and nothing else about it
changes. The app role is granted UPDATE of `patient_id` (and `updated_at`) on those tables for
that purpose only; the triggers still refuse every other change, and deletes as before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

from transactional.migrations.rls import app_role

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REPOINT = "NOT app_patient_repoint(to_jsonb(OLD), to_jsonb(NEW))"

# (trigger, table, function) of triggers that refused UPDATE and DELETE alike: UPDATE moves to a
# trigger of its own with the merge exception; DELETE keeps refusing.
_SPLIT = (
    ("clinical_notes_signed_immutable", "clinical_notes", "clinical_notes_signed_immutable"),
    ("payments_append_only", "payments", "billing_append_only"),
    ("adjustments_append_only", "adjustments", "billing_append_only"),
)
# Table -> what a merge's UPDATE writes (SQLAlchemy also stamps `updated_at`) that 0011 did not
# grant already; downgrade revokes exactly these.
_GRANT_PATIENT = {
    "invoices": "patient_id",
    "charges": "patient_id",
    "claims": "patient_id",
    "payments": "patient_id, updated_at",
    "adjustments": "patient_id, updated_at",
    "stock_movements": "patient_id",
}


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION app_patient_repoint(old_row jsonb, new_row jsonb) RETURNS boolean
        LANGUAGE sql STABLE
        AS $$
            SELECT coalesce(
                new_row ->> 'patient_id' = current_setting('app.merge_survivor', true)
                AND (old_row - 'patient_id' - 'updated_at') = (new_row - 'patient_id' - 'updated_at'),
                false)
        $$
        """
    )
    op.execute(f"GRANT EXECUTE ON FUNCTION app_patient_repoint(jsonb, jsonb) TO {app_role()}")
    op.execute(
        """
        CREATE FUNCTION app_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% rows are never changed or deleted', TG_TABLE_NAME
                USING ERRCODE = 'integrity_constraint_violation';
        END $$
        """
    )
    for trigger, table, function in _SPLIT:
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
        op.execute(
            f"CREATE TRIGGER {trigger}_delete BEFORE DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
        op.execute(
            f"CREATE TRIGGER {trigger}_update BEFORE UPDATE ON {table} "
            f"FOR EACH ROW WHEN ({_REPOINT}) EXECUTE FUNCTION {function}()"
        )
    op.execute("DROP TRIGGER charges_only_voided ON charges")
    op.execute(
        "CREATE TRIGGER charges_only_voided BEFORE UPDATE ON charges "
        f"FOR EACH ROW WHEN ({_REPOINT}) EXECUTE FUNCTION billing_charge_only_voided()"
    )
    op.execute(
        "CREATE TRIGGER stock_movements_append_only_delete BEFORE DELETE ON stock_movements "
        "FOR EACH ROW EXECUTE FUNCTION app_append_only()"
    )
    op.execute(
        "CREATE TRIGGER stock_movements_append_only_update BEFORE UPDATE ON stock_movements "
        f"FOR EACH ROW WHEN ({_REPOINT}) EXECUTE FUNCTION app_append_only()"
    )
    for table, columns in _GRANT_PATIENT.items():
        op.execute(f"GRANT UPDATE ({columns}) ON TABLE {table} TO {app_role()}")


def downgrade() -> None:
    for table, columns in _GRANT_PATIENT.items():
        op.execute(f"REVOKE UPDATE ({columns}) ON TABLE {table} FROM {app_role()}")
    op.execute("DROP TRIGGER stock_movements_append_only_update ON stock_movements")
    op.execute("DROP TRIGGER stock_movements_append_only_delete ON stock_movements")
    op.execute("DROP TRIGGER charges_only_voided ON charges")
    op.execute(
        "CREATE TRIGGER charges_only_voided BEFORE UPDATE ON charges "
        "FOR EACH ROW EXECUTE FUNCTION billing_charge_only_voided()"
    )
    for trigger, table, function in _SPLIT:
        op.execute(f"DROP TRIGGER {trigger}_update ON {table}")
        op.execute(f"DROP TRIGGER {trigger}_delete ON {table}")
        op.execute(
            f"CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
    op.execute("DROP FUNCTION app_append_only()")
    op.execute("DROP FUNCTION app_patient_repoint(jsonb, jsonb)")
