"""What change capture hands to the warehouse: which tables, and which of their columns.

Credentials and what could rebuild or match an SSN never leave PostgreSQL, nor do binary
columns; every other column of a captured table does.
"""

from functools import cache

from sqlalchemy import Column, LargeBinary, Table
from sqlalchemy.dialects.postgresql import INET

from transactional.migrations.capture import NOT_CAPTURED

SECRET_COLUMNS = {
    "users": frozenset({"password_hash", "mfa_secret_encrypted", "mfa_last_used_step"}),
    "patients": frozenset({"ssn_encrypted", "ssn_blind_index", "ssn_last4"}),
}


@cache
def captured_tables() -> tuple[Table, ...]:
    """Every table change capture records, parents before children."""
    import transactional.models  # noqa: F401 - every table on the metadata
    from transactional.base import Base

    return tuple(
        t for t in Base.metadata.sorted_tables if t.schema is None and t.name not in NOT_CAPTURED
    )


def captured_table(name: str) -> Table:
    for table in captured_tables():
        if table.name == name:
            return table
    raise KeyError(f"{name} is not a captured table")


def shared_columns(table: Table) -> list[Column[object]]:
    """The columns of `table` that leave PostgreSQL."""
    secret = SECRET_COLUMNS.get(table.name, frozenset())
    return [
        c
        for c in table.columns
        if c.name not in secret and not isinstance(c.type, LargeBinary | INET)
    ]
