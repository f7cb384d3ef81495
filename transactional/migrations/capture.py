"""Change capture for the warehouse: which tables feed it, and the triggers that record it.

Every statement that writes a captured table appends, in the same transaction, one
`change_log` row per written row: the writer's 64-bit transaction id, the table, the tenant,
the row's id and I/U/D. The warehouse pipeline reads what transactions below the current
snapshot's xmin wrote (so a transaction committing late is never skipped) and fetches those
rows as they are now. Kept stable on purpose: later migrations import it.
"""

from alembic import op

# Not replicated: the audit trail stays in PostgreSQL, and sign-in state is not analytics.
NOT_CAPTURED = frozenset(
    {"alembic_version", "audit_events", "auth_sessions", "refresh_tokens", "change_log"}
)


def capture_changes(table: str, *, function: str = "app_capture_changes") -> None:
    """Record every INSERT, UPDATE and DELETE of `table` in `change_log`, per statement."""
    for event, referencing in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER capture_{event.lower()} AFTER {event} ON {table} "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def stop_capturing(table: str) -> None:
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER capture_{event} ON {table}")
