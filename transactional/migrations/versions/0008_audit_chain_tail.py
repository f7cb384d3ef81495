"""Take a chain's lock and read its tail in one round trip.

An append used to lock the chain in one statement and read its last event in the next, as
READ COMMITTED requires: a statement sees only what was committed when it began, so a read
in the locking statement could miss the event the previous holder just committed. A
VOLATILE PL/pgSQL function takes a fresh snapshot for each statement it runs, so its read,
after its lock, sees that event; the append saves a round trip and holds the lock shorter.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

from transactional.migrations.rls import app_role

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Two queries, not one with `IS NOT DISTINCT FROM`, so each can use the
    # (tenant_id, chain, seq) index.
    op.execute(
        """
        CREATE FUNCTION app_audit_chain_tail(
            lock_key text, tenant uuid, chain_number smallint, OUT seq bigint, OUT hash text
        )
        LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, public
        AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock(hashtextextended(lock_key, 0));
            IF tenant IS NULL THEN
                SELECT e.seq, e.hash INTO seq, hash FROM public.audit_events AS e
                WHERE e.tenant_id IS NULL AND e.chain = chain_number
                ORDER BY e.seq DESC LIMIT 1;
            ELSE
                SELECT e.seq, e.hash INTO seq, hash FROM public.audit_events AS e
                WHERE e.tenant_id = tenant AND e.chain = chain_number
                ORDER BY e.seq DESC LIMIT 1;
            END IF;
        END
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION app_audit_chain_tail(text, uuid, smallint) FROM PUBLIC")
    op.execute(
        f"GRANT EXECUTE ON FUNCTION app_audit_chain_tail(text, uuid, smallint) TO {app_role()}"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION app_audit_chain_tail(text, uuid, smallint)")
