"""Proving the warehouse equals PostgreSQL: per table, row counts and a content checksum.

Both sides are read as Arrow (PostgreSQL from one snapshot, the warehouse with `FINAL`), brought
to one canonical form (the raw layer's own normalisation, then storage types: UUID bytes,
UTC microsecond timestamps, text for strings), sorted by key and hashed row by row. Equal
checksums mean equal content, not just equal counts.
"""

import uuid
from dataclasses import dataclass

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client
from sqlalchemy import URL, Table

from transactional.capture.reader import Snapshot, snapshot
from transactional.capture.scope import captured_tables
from warehouse.raw import METADATA_COLUMNS, as_warehouse_rows, current_rows


@dataclass(frozen=True)
class TableReconciliation:
    table: str
    source_rows: int
    warehouse_rows: int
    source_checksum: int
    warehouse_checksum: int

    @property
    def matches(self) -> bool:
        return (
            self.source_rows == self.warehouse_rows
            and self.source_checksum == self.warehouse_checksum
        )


def _canonical_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if isinstance(kind, pa.BaseExtensionType):
        column = pa.chunked_array([c.storage for c in column.chunks], type=kind.storage_type)
        kind = column.type
    if pa.types.is_timestamp(kind):
        return pc.cast(pc.cast(column, pa.timestamp("us", "UTC")), pa.int64())
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return pc.cast(column, pa.large_string())
    if pa.types.is_string(kind):
        return pc.cast(column, pa.large_string())
    if pa.types.is_decimal(kind):
        return pc.cast(column, pa.large_string())
    return column


def _checksum(rows: pa.Table, key: list[str]) -> int:
    if rows.num_rows == 0:
        return 0
    canonical = pa.table({name: _canonical_column(rows.column(name)) for name in rows.column_names})
    frame = pl.from_arrow(canonical)
    assert isinstance(frame, pl.DataFrame)
    ordered = frame.sort(key)
    hashes = ordered.hash_rows(seed=20261122).cast(pl.UInt64)
    # Order-sensitive fold so two rows swapping values between keys still differ.
    weights = pl.Series(range(1, ordered.height + 1), dtype=pl.UInt64)
    return int((hashes * weights).sum()) & 0xFFFF_FFFF_FFFF_FFFF


def _source_rows(snap: Snapshot, table: Table, tenants: list[uuid.UUID]) -> pa.Table:
    owners: list[uuid.UUID | None] = list(tenants) if "tenant_id" in table.columns else [None]
    parts = [
        as_warehouse_rows(snap.all_rows(table, t), table, version=0, deleted=False, batch="")
        for t in owners
    ]
    combined = pa.concat_tables(parts) if parts else pa.table({})
    return combined.drop_columns(list(METADATA_COLUMNS))


def reconcile(
    *,
    source: URL,
    client: Client,
    tables: list[str] | None = None,
    tenant_id: uuid.UUID | None = None,
) -> list[TableReconciliation]:
    """Compare every captured table (or the named ones), for every tenant or just one."""
    results = []
    with snapshot(source) as snap:
        tenants = [tenant_id] if tenant_id is not None else snap.tenants()
        for table in captured_tables():
            if tables is not None and table.name not in tables:
                continue
            key = ["tenant_id", "id"] if "tenant_id" in table.columns else ["id"]
            source_rows = _source_rows(snap, table, tenants)
            if tenant_id is not None and "tenant_id" not in table.columns:
                source_rows = source_rows.filter(
                    pc.equal(_canonical_column(source_rows.column("id")), tenant_id.bytes)
                )
            warehouse_rows = current_rows(client, table, tenant_id=tenant_id)
            if tenant_id is not None and "tenant_id" not in table.columns:
                warehouse_rows = warehouse_rows.filter(
                    pc.equal(_canonical_column(warehouse_rows.column("id")), tenant_id.bytes)
                )
            results.append(
                TableReconciliation(
                    table=table.name,
                    source_rows=source_rows.num_rows,
                    warehouse_rows=warehouse_rows.num_rows,
                    source_checksum=_checksum(source_rows, key),
                    warehouse_checksum=_checksum(warehouse_rows, key),
                )
            )
    return results
