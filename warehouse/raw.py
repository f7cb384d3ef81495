"""The raw layer: one ClickHouse table per replicated PostgreSQL table, and writing to it.

Each raw table has the source table's columns (less secrets, see `transactional.capture.scope`),
typed from the SQLAlchemy metadata, plus `_version` (the xmin of the PostgreSQL snapshot the row
was read from: higher is newer), `_is_deleted`, `_synced_at` and `_batch`. The engine is
`ReplacingMergeTree(_version, _is_deleted)` ordered by the source key, so a row written twice
(a retried batch, a replay after a crash) collapses to one, and a delete is a newer version
marked deleted. Readers use `FINAL` (or argMax per key). Inserts carry a deduplication token
per (table, batch): an identical retry of a batch is ignored outright.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    Uuid,
)
from sqlalchemy.dialects.postgresql import INET, JSONB

from transactional.capture.scope import captured_tables, shared_columns

DATABASE = "raw"
METADATA_COLUMNS = ("_version", "_is_deleted", "_synced_at", "_batch")
DEDUPLICATION_WINDOW = 1000  # inserts remembered per table for token deduplication


class UnsupportedColumn(TypeError):
    pass


def _scalar_type(column: Column[object]) -> str:
    kind = column.type
    if isinstance(kind, Uuid):
        return "UUID"
    if isinstance(kind, DateTime):
        return "DateTime64(6, 'UTC')"
    if isinstance(kind, Date):
        return "Date32"
    if isinstance(kind, Time):
        return "String"  # HH:MM:SS, local wall-clock time of a weekly template
    if isinstance(kind, Boolean):
        return "Bool"
    if isinstance(kind, BigInteger):
        return "Int64"
    if isinstance(kind, SmallInteger):
        return "Int16"
    if isinstance(kind, Integer):
        return "Int32"
    if isinstance(kind, Float):
        return "Float64"  # measurements and scores; money is integer cents, never a float
    if isinstance(kind, Numeric):
        return f"Decimal(38, {kind.scale or 0})"
    if isinstance(kind, JSONB):
        return "String"  # the JSON text
    if isinstance(kind, String | Text):
        return "String"
    if isinstance(kind, ARRAY):
        item = Column(column.name, kind.item_type)
        return f"Array({_scalar_type(item)})"
    if isinstance(kind, LargeBinary | INET):
        raise UnsupportedColumn(f"{column.table.name}.{column.name} is not replicated")
    raise UnsupportedColumn(f"no ClickHouse type for {column.table.name}.{column.name}: {kind}")


def clickhouse_type(column: Column[object]) -> str:
    base = _scalar_type(column)
    if column.nullable and not base.startswith("Array("):
        return f"Nullable({base})"
    return base


def _key(table: Table) -> str:
    return "(tenant_id, id)" if "tenant_id" in table.columns else "(id)"


def create_statement(table: Table, *, name: str | None = None) -> str:
    columns = [f"`{c.name}` {clickhouse_type(c)}" for c in shared_columns(table)]
    columns += [
        "`_version` UInt64",
        "`_is_deleted` UInt8",
        "`_synced_at` DateTime64(6, 'UTC')",
        "`_batch` String",
    ]
    return (
        f"CREATE TABLE IF NOT EXISTS {DATABASE}.`{name or table.name}` (\n  "
        + ",\n  ".join(columns)
        + f"\n) ENGINE = ReplacingMergeTree(_version, _is_deleted)\nORDER BY {_key(table)}\n"
        f"SETTINGS non_replicated_deduplication_window = {DEDUPLICATION_WINDOW}"
    )


def create_raw_tables(client: Client) -> None:
    """Create the raw tables that do not exist yet (every pass calls this: one query when all
    are there, instead of a DDL statement per table)."""
    client.command(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    existing = {
        name
        for (name,) in client.query(
            "SELECT name FROM system.tables WHERE database = {d:String}",
            parameters={"d": DATABASE},
        ).result_rows
    }
    for source in captured_tables():
        if source.name not in existing:
            client.command(create_statement(source))


def _normalised(column: pa.ChunkedArray, target: Column[object]) -> pa.ChunkedArray:
    """ADBC's PostgreSQL types as ClickHouse reads them: numerics arrive as opaque strings,
    JSON as a JSON extension, times as time64."""
    kind = column.type
    if isinstance(kind, pa.BaseExtensionType) and not isinstance(target.type, Uuid):
        column = pa.chunked_array(
            [chunk.storage for chunk in column.chunks], type=kind.storage_type
        )
    if isinstance(target.type, Numeric) and not pa.types.is_decimal(column.type):
        return pc.cast(column, pa.decimal128(38, target.type.scale or 0))
    if isinstance(target.type, Time):
        return pc.cast(column, pa.string())
    return column


def as_warehouse_rows(
    rows: pa.Table, source: Table, *, version: int, deleted: bool, batch: str
) -> pa.Table:
    """Source rows (columns named as in PostgreSQL) with the raw layer's metadata columns.
    Tombstones (`deleted`) need only the key columns."""
    columns = shared_columns(source)
    arrays = []
    for column in columns:
        if column.name in rows.column_names:
            arrays.append(_normalised(rows.column(column.name), column))
        elif column.nullable or deleted:
            arrays.append(pa.nulls(rows.num_rows))  # typed by the insert
        else:
            raise ValueError(f"{source.name}: rows lack {column.name}")
    count = rows.num_rows
    arrays += [
        pa.repeat(pa.scalar(version, pa.uint64()), count),
        pa.repeat(pa.scalar(1 if deleted else 0, pa.uint8()), count),
        pa.repeat(pa.scalar(datetime.now(UTC), pa.timestamp("us", "UTC")), count),
        pa.repeat(pa.scalar(batch, pa.string()), count),
    ]
    names = [c.name for c in columns] + list(METADATA_COLUMNS)
    return pa.Table.from_arrays(arrays, names=names)


@dataclass(frozen=True)
class Written:
    table: str
    rows: int


def write(
    client: Client, source: Table, rows: pa.Table, *, token: str | None, into: str | None = None
) -> Written:
    """Insert prepared rows (into `into`, default the table's raw table). With a `token`, an
    identical retry of the same batch is a no-op; a bulk load into a fresh table needs none
    (hashing every block for it costs a third of the insert)."""
    if rows.num_rows == 0:
        return Written(source.name, 0)
    target = f"{DATABASE}.`{into or source.name}`"
    if token is None and _in_process(client):
        _insert_in_process(client, target, rows)
        return Written(source.name, rows.num_rows)
    settings = {"insert_deduplication_token": token, "insert_deduplicate": 1} if token else {}
    client.insert_arrow(target, rows, settings=settings)
    return Written(source.name, rows.num_rows)


def _in_process(client: Client) -> bool:
    """Whether the warehouse is embedded chDB in this process (not a server over HTTP)."""
    from clickhouse_connect.driver._chdbclient import ChdbClient

    return isinstance(client, ChdbClient)


def _insert_in_process(client: Client, target: str, rows: pa.Table) -> None:
    """Embedded chDB reads the Arrow table where it lies (its `Python()` table function finds
    the variable in this frame). `insert_arrow` would serialize it to Arrow IPC, copy that into
    a temporary file and have chDB parse the file back: a third of a bulk load's time."""
    emr_insert_rows = rows  # noqa: F841 - read by name by chDB's Python() table function
    columns = ", ".join(f"`{name}`" for name in rows.column_names)
    client.command(
        f"INSERT INTO {target} ({columns}) SELECT {columns} FROM Python(emr_insert_rows)"  # noqa: S608 - metadata names
    )


def current_rows(client: Client, source: Table, *, tenant_id: uuid.UUID | None = None) -> pa.Table:
    """What the warehouse holds for a table now: newest version per key, deletions dropped,
    ordered by key. Source column names; no metadata columns."""
    columns = ", ".join(f"`{c.name}`" for c in shared_columns(source))
    where = "_is_deleted = 0"
    parameters: dict[str, object] = {}
    if tenant_id is not None and "tenant_id" in source.columns:
        where += " AND tenant_id = {tenant:UUID}"
        parameters["tenant"] = str(tenant_id)
    return client.query_arrow(
        f"SELECT {columns} FROM {DATABASE}.`{source.name}` FINAL "  # noqa: S608 - metadata names
        f"WHERE {where} ORDER BY {_key(source)[1:-1]}",
        parameters=parameters,
    )
