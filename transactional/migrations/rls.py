"""SQL that migrations use to grant the app role and put tables under row-level security.

Kept stable on purpose: old migrations import it.
"""

from alembic import op


def app_role() -> str:
    role = op.get_context().config.attributes["app_role"]  # type: ignore[union-attr]
    return f'"{role}"'


def grant_app(table: str, privileges: str) -> None:
    op.execute(f"GRANT {privileges} ON TABLE {table} TO {app_role()}")


def enable_tenant_rls(table: str) -> None:
    """Only rows of the transaction's tenant are visible or writable, even for the owner."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} "
        "USING (tenant_id = app_current_tenant()) "
        "WITH CHECK (tenant_id = app_current_tenant())"
    )


def tenant_table(table: str, privileges: str = "SELECT, INSERT, UPDATE, DELETE") -> None:
    grant_app(table, privileges)
    enable_tenant_rls(table)
