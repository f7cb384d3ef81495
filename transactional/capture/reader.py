"""Reading what changed, as Arrow, from one consistent snapshot of PostgreSQL.

A `Snapshot` is one REPEATABLE READ transaction on an ADBC connection (columnar transfer, not
row by row). Its `xmin` is the oldest transaction still running when it began: every
transaction with a smaller id has finished, so the change-log rows with `since <= txid < xmin`
are complete and visible, whatever order their transactions committed in. Rows are read as
they are in this snapshot; rows whose changes say they were written but are gone are deletions.

Every row read from a snapshot is versioned by that snapshot's `xmin`. Snapshots taken later
have a larger or equal xmin and see a newer or equal state, so the warehouse's
`ReplacingMergeTree(_version)` always keeps the newest content. (Change-log ids would not do:
they are handed out at write time, not commit time, so a transaction that wrote early and
committed late would carry a smaller id than the state it replaces.)

Each tenant's rows are read with the tenant bound (`app.tenant_id`) and filtered by tenant, so
row-level security applies to a non-owner reader and a superuser reader still gets one tenant.
Secret columns (`scope.SECRET_COLUMNS`) are never selected.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import adbc_driver_postgresql.dbapi as adbc
import pyarrow as pa
from sqlalchemy import URL, Table

from transactional.capture.scope import shared_columns


def libpq_uri(url: URL) -> str:
    """A SQLAlchemy URL as the libpq URI ADBC takes (driver suffix dropped; a Unix socket
    folder stays in `host=`)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class Change:
    table: str
    tenant_id: uuid.UUID


def _name(identifier: str) -> str:
    """A table or column name from the SQLAlchemy metadata, quoted (never caller input)."""
    if not identifier.replace("_", "").isalnum():
        raise ValueError(f"unexpected identifier {identifier!r}")
    return f'"{identifier}"'


# Identifiers come from the metadata (`_name`); every value is a bound parameter.
_WINDOW = (
    "SELECT DISTINCT row_id FROM change_log "
    "WHERE table_name = $1 AND tenant_id = $2::uuid AND txid >= $3 AND txid < $4"
)


class Snapshot:
    def __init__(self, connection: adbc.Connection) -> None:
        self._connection = connection
        self.xmin = int(
            str(
                self._arrow("SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin").column(
                    "xmin"
                )[0]
            )
        )

    def _arrow(self, query: str, parameters: tuple[object, ...] = ()) -> pa.Table:
        with self._connection.cursor() as cursor:
            cursor.execute(query, parameters or None)
            return cursor.fetch_arrow_table()

    def _bind(self, tenant_id: uuid.UUID) -> None:
        self._arrow("SELECT set_config('app.tenant_id', $1, true) AS bound", (str(tenant_id),))

    def _columns(self, source: Table) -> str:
        return ", ".join(f"t.{_name(c.name)}" for c in shared_columns(source))

    def changes(self, *, since: int) -> list[Change]:
        """(table, tenant) pairs with complete changes in [since, xmin)."""
        found = self._arrow(
            "SELECT DISTINCT table_name, tenant_id::text AS tenant_id FROM change_log "
            "WHERE txid >= $1 AND txid < $2 ORDER BY 1, 2",
            (since, self.xmin),
        )
        return [
            Change(table, uuid.UUID(tenant))
            for table, tenant in zip(
                found.column("table_name").to_pylist(),
                found.column("tenant_id").to_pylist(),
                strict=True,
            )
        ]

    def changed_rows(self, source: Table, tenant_id: uuid.UUID, *, since: int) -> pa.Table:
        """Rows changed in [since, xmin), as they are in this snapshot."""
        self._bind(tenant_id)
        query = (
            f"SELECT {self._columns(source)} FROM {_name(source.name)} AS t "  # noqa: S608
            f"WHERE t.id IN ({_WINDOW})"
        )
        return self._arrow(query, (source.name, str(tenant_id), since, self.xmin))

    def deleted_rows(self, source: Table, tenant_id: uuid.UUID, *, since: int) -> pa.Table:
        """Ids of rows written in [since, xmin) that no longer exist in this snapshot."""
        self._bind(tenant_id)
        query = (
            f"SELECT c.row_id AS id FROM ({_WINDOW}) AS c "  # noqa: S608
            f"WHERE NOT EXISTS (SELECT FROM {_name(source.name)} AS t WHERE t.id = c.row_id)"
        )
        return self._arrow(query, (source.name, str(tenant_id), since, self.xmin))

    def all_rows(self, source: Table, tenant_id: uuid.UUID | None) -> pa.Table:
        """Every row of a tenant (or, for `tenants`, every tenant) in this snapshot."""
        parts = list(self.all_rows_in_chunks(source, tenant_id))
        if not parts:
            return self._arrow(f"{self._select_all(source)} WHERE false")
        return pa.concat_tables(parts)

    def all_rows_in_chunks(
        self, source: Table, tenant_id: uuid.UUID | None, *, rows: int = 500_000
    ) -> Iterator[pa.Table]:
        """`all_rows` streamed in tables of about `rows` rows, so a large table never has to
        fit in memory at once."""
        query, parameters = self._select_all(source), tuple[str, ...]()
        if tenant_id is not None:
            # Filtered as well as bound: a superuser reader is not subject to row-level security.
            self._bind(tenant_id)
            query, parameters = f"{query} WHERE t.tenant_id = $1::uuid", (str(tenant_id),)
        with self._connection.cursor() as cursor:
            cursor.execute(query, parameters or None)
            reader = cursor.fetch_record_batch()
            pending: list[pa.RecordBatch] = []
            held = 0
            for batch in reader:
                pending.append(batch)
                held += batch.num_rows
                if held >= rows:
                    yield pa.Table.from_batches(pending)
                    pending, held = [], 0
            if pending:
                yield pa.Table.from_batches(pending)

    def _select_all(self, source: Table) -> str:
        return f"SELECT {self._columns(source)} FROM {_name(source.name)} AS t"  # noqa: S608

    def oldest_change(self, *, since: int) -> datetime | None:
        """When the oldest change in [since, xmin) was written: its freshness clock starts."""
        found = self._arrow(
            "SELECT min(changed_at) AS oldest FROM change_log WHERE txid >= $1 AND txid < $2",
            (since, self.xmin),
        )
        value = found.column("oldest")[0].as_py()
        return value if isinstance(value, datetime) else None

    def tenants(self) -> list[uuid.UUID]:
        found = self._arrow("SELECT id::text AS id FROM tenants ORDER BY id")
        return [uuid.UUID(value) for value in found.column("id").to_pylist()]

    def row_count(self, source: Table, tenant_id: uuid.UUID | None) -> int:
        """How many rows `all_rows` would return, counted by PostgreSQL."""
        query = f"SELECT count(*) AS n FROM {_name(source.name)} AS t"  # noqa: S608
        parameters: tuple[str, ...] = ()
        if tenant_id is not None:
            self._bind(tenant_id)
            query, parameters = f"{query} WHERE t.tenant_id = $1::uuid", (str(tenant_id),)
        return int(self._arrow(query, parameters).column("n")[0].as_py())

    def pending_tables(self, *, since: int) -> set[str]:
        """Tables with changes at or above `since` that this snapshot can see (a warehouse
        whose last pass stopped at `since` may not hold them yet)."""
        found = self._arrow("SELECT DISTINCT table_name FROM change_log WHERE txid >= $1", (since,))
        return set(found.column("table_name").to_pylist())


@contextmanager
def snapshot(url: URL) -> Iterator[Snapshot]:
    """One read-only REPEATABLE READ snapshot; nothing is written through it."""
    connection = adbc.connect(libpq_uri(url))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield Snapshot(connection)
    finally:
        connection.rollback()
        connection.close()
