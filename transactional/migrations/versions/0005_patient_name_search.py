"""Fuzzy patient-name search that can use its trigram index under row-level security.

A row-level security policy is a security barrier: PostgreSQL will not evaluate a
non-leakproof operator (pg_trgm's `%` and `%>` are not leakproof) before the policy's check,
so it cannot use an index for them and searched 100,000 patients row by row (~240 ms).
Marking the operators leakproof needs a superuser, which managed PostgreSQL does not grant.
Instead, this definer function, owned by the table owner, finds the matches through the
index and filters by the transaction's tenant itself, exactly as the policy would. For the
owner to bypass the policy, `patients` is no longer FORCE'd (an owner can always lift FORCE,
so it protected nothing the owner could not undo); the app role remains fully under RLS.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

from transactional.migrations.rls import app_role

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE patients NO FORCE ROW LEVEL SECURITY")
    op.execute(
        """
        CREATE FUNCTION app_patient_name_matches(q text) RETURNS TABLE (id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER ROWS 50 SET search_path = pg_catalog, public
        AS $$
            SELECT p.id FROM public.patients AS p
            WHERE p.tenant_id = public.app_current_tenant()
              AND (p.search_name OPERATOR(public.%) q OR p.search_name OPERATOR(public.%>) q)
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION app_patient_name_matches(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION app_patient_name_matches(text) TO {app_role()}")


def downgrade() -> None:
    op.execute("DROP FUNCTION app_patient_name_matches(text)")
    op.execute("ALTER TABLE patients FORCE ROW LEVEL SECURITY")
