"""MRNs from one PostgreSQL sequence per tenant instead of a locked counter row.

The counter row stayed locked from a registration's first write to its commit, so every
registration of a tenant waited for the one before it (p99 near a second with 16 clients).
A sequence hands out numbers without waiting and never hands one out twice; a registration
that rolls back leaves a gap, which an identifier may have.

The sequences are created by `app_create_mrn_sequence` (tenant creation, as the owner) and
read by `app_next_mrn` (the app role, for the tenant its transaction is bound to); both name
the sequence the same way, here and nowhere else.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from transactional.migrations.rls import app_role, enable_tenant_rls, grant_app

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION app_mrn_sequence_name(tenant uuid) RETURNS text
        LANGUAGE sql IMMUTABLE
        AS $$ SELECT 'public.mrn_seq_' || replace(tenant::text, '-', '') $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION app_create_mrn_sequence(tenant uuid, last_used bigint DEFAULT 0)
        RETURNS void LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, public
        AS $$
        BEGIN
            EXECUTE format('CREATE SEQUENCE %s AS bigint MINVALUE 1 NO CYCLE',
                           public.app_mrn_sequence_name(tenant));
            IF last_used > 0 THEN
                PERFORM setval(public.app_mrn_sequence_name(tenant)::regclass, last_used);
            END IF;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION app_next_mrn(how_many integer DEFAULT 1) RETURNS SETOF bigint
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$
        DECLARE
            tenant uuid := public.app_current_tenant();
        BEGIN
            IF tenant IS NULL THEN
                RAISE EXCEPTION 'no tenant is bound to this transaction';
            END IF;
            RETURN QUERY
                SELECT nextval(public.app_mrn_sequence_name(tenant)::regclass)
                FROM generate_series(1, how_many);
        END
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION app_create_mrn_sequence(uuid, bigint) FROM PUBLIC")
    op.execute("REVOKE ALL ON FUNCTION app_next_mrn(integer) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION app_next_mrn(integer) TO {app_role()}")
    op.execute(
        """
        SELECT app_create_mrn_sequence(t.id, coalesce(c.last_value, 0))
        FROM tenants AS t LEFT JOIN mrn_counters AS c ON c.tenant_id = t.id
        """
    )
    op.drop_table("mrn_counters")


def downgrade() -> None:
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
    grant_app("mrn_counters", "SELECT, INSERT, UPDATE")
    enable_tenant_rls("mrn_counters")
    op.execute(
        """
        DO $$
        DECLARE
            t uuid;
            used bigint;
        BEGIN
            FOR t IN SELECT id FROM tenants LOOP
                EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM %s',
                               app_mrn_sequence_name(t)) INTO used;
                IF used > 0 THEN
                    PERFORM set_config('app.tenant_id', t::text, true);
                    INSERT INTO mrn_counters (tenant_id, last_value) VALUES (t, used);
                END IF;
                EXECUTE format('DROP SEQUENCE %s', app_mrn_sequence_name(t));
            END LOOP;
        END
        $$
        """
    )
    op.execute("DROP FUNCTION app_next_mrn(integer)")
    op.execute("DROP FUNCTION app_create_mrn_sequence(uuid, bigint)")
    op.execute("DROP FUNCTION app_mrn_sequence_name(uuid)")
