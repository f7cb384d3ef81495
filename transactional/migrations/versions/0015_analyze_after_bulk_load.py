"""Let a bulk load refresh planner statistics inside its own transaction.

Right after a bulk load the planner has no statistics for the tables it filled, and costed
every index of `patients` alike: each foreign-key check against it filtered all of a tenant's
patients through (tenant_id, ssn_blind_index) instead of using (tenant_id, id), about 270 us a
row. ANALYZE inside the loading transaction counts the transaction's own rows and invalidates
the cached foreign-key plans; only a table's owner may run it, so this definer function runs
it for the app role, on tables of the `public` schema only.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

from transactional.migrations.rls import app_role

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION app_analyze(target regclass) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$
        BEGIN
            IF (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.oid = target) IS DISTINCT FROM 'public' THEN
                RAISE EXCEPTION 'only tables of the public schema are analyzed here';
            END IF;
            EXECUTE format('ANALYZE %s', target);
        END
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION app_analyze(regclass) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION app_analyze(regclass) TO {app_role()}")


def downgrade() -> None:
    op.execute("DROP FUNCTION app_analyze(regclass)")
