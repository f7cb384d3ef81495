"""Per-table row counts and checksums of one tenant's rows, to show a population is
reproducible: the same seed loaded into a fresh tenant anywhere gives the same figures.

The tenant's own id is left out (a tenant is registered with a random id), and so are the
columns the database itself stamps while loading (an invoice's `updated_at`, set by the ledger
triggers to the loading transaction's time); everything the generator wrote is in.
"""

import uuid
from dataclasses import dataclass

from psycopg import sql
from sqlalchemy.orm import Session

from transactional.synthetic.load import insertable, table_named

STAMPED_BY_DATABASE = {"invoices": {"updated_at"}}


@dataclass(frozen=True)
class TableChecksum:
    rows: int
    md5: str


def table_checksums(
    *, session: Session, tenant_id: uuid.UUID, tables: list[str]
) -> dict[str, TableChecksum]:
    """md5 over each table's rows (text of the generator-written columns, sorted)."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    found: dict[str, TableChecksum] = {}
    with raw.cursor() as cursor:
        for name in tables:
            skip = {"tenant_id"} | STAMPED_BY_DATABASE.get(name, set())
            columns = [c for c in insertable(table_named(name)) if c not in skip]
            row = sql.SQL("concat_ws('|', {})").format(
                sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns)
            )
            query = sql.SQL(
                "SELECT count(*), coalesce(md5(string_agg(r, E'\\n' ORDER BY r)), '') "
                "FROM (SELECT {} AS r FROM {} WHERE tenant_id = %s) AS t"
            ).format(row, sql.Identifier(name))
            cursor.execute(query, (tenant_id,))
            count, digest = cursor.fetchone() or (0, "")
            found[name] = TableChecksum(rows=int(count), md5=str(digest))
    return found
