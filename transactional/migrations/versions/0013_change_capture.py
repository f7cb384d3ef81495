"""Change capture: a change log written by statement-level triggers on every business table.

`txid` is the writer's 64-bit transaction id (`pg_current_xact_id()`, which never wraps
around) as a bigint. The log holds identifiers only (transaction id, table, tenant, row id, operation, time), never
row contents, so it carries no PHI; the app role can neither read nor write it directly (the
trigger functions are SECURITY DEFINER). A statement-level trigger with transition tables adds
one INSERT per statement, however many rows it wrote, so COPY-based bulk loads stay cheap.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from transactional.migrations.capture import NOT_CAPTURED, capture_changes, stop_capturing

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTION = """
    CREATE FUNCTION {name}() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            INSERT INTO public.change_log (txid, table_name, tenant_id, row_id, op)
            SELECT pg_current_xact_id()::text::bigint, TG_TABLE_NAME, o.{tenant}, o.id, 'D'
            FROM old_rows AS o;
        ELSE
            INSERT INTO public.change_log (txid, table_name, tenant_id, row_id, op)
            SELECT pg_current_xact_id()::text::bigint, TG_TABLE_NAME, n.{tenant}, n.id, left(TG_OP, 1)
            FROM new_rows AS n;
        END IF;
        RETURN NULL;
    END
    $$
"""


def _captured_tables() -> list[str]:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'id' ORDER BY table_name"
        )
    )
    return [str(name) for (name,) in rows if name not in NOT_CAPTURED]


def upgrade() -> None:
    op.create_table(
        "change_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("table_name", sa.String(length=63), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("row_id", sa.Uuid(), nullable=False),
        sa.Column("op", sa.String(length=1), nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint("op IN ('I', 'U', 'D')", name=op.f("ck_change_log_op_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_log")),
    )
    op.create_index(op.f("ix_change_log_txid"), "change_log", ["txid"], unique=False)
    op.execute(_FUNCTION.format(name="app_capture_changes", tenant="tenant_id"))
    # Tenants are their own tenant.
    op.execute(_FUNCTION.format(name="app_capture_tenant_changes", tenant="id"))
    for table in _captured_tables():
        function = "app_capture_tenant_changes" if table == "tenants" else "app_capture_changes"
        capture_changes(table, function=function)


def downgrade() -> None:
    for table in _captured_tables():
        stop_capturing(table)
    op.execute("DROP FUNCTION app_capture_tenant_changes()")
    op.execute("DROP FUNCTION app_capture_changes()")
    op.drop_index(op.f("ix_change_log_txid"), table_name="change_log")
    op.drop_table("change_log")
