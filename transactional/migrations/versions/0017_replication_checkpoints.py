"""Replication checkpoints: how far each warehouse has applied the change log.

One row per destination (a warehouse, named by the id it stores in itself): the snapshot xmin
up to which every change has been written there. The pipeline saves it, and prunes change-log
rows every destination has applied, in one transaction after the warehouse insert, so a crash
in between only replays a window. A schema of its own, outside `public`: bookkeeping, not a
business table, so it is neither captured nor reachable by the app role.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA replication")
    op.create_table(
        "checkpoints",
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("watermark", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint("watermark >= 0", name=op.f("ck_checkpoints_watermark_positive")),
        sa.PrimaryKeyConstraint("destination", name=op.f("pk_checkpoints")),
        schema="replication",
    )


def downgrade() -> None:
    op.drop_table("checkpoints", schema="replication")
    op.execute("DROP SCHEMA replication")
