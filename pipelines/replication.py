"""Replicating PostgreSQL into the warehouse's raw layer, exactly once.

A pass reads one REPEATABLE READ snapshot of PostgreSQL (`transactional.capture.reader`).
Changes of transactions below the snapshot's xmin are complete, whatever order they committed
in; the pass copies the rows they touched, as the snapshot sees them, into ClickHouse, then
saves the snapshot's xmin as this warehouse's checkpoint and prunes the change log, in one
PostgreSQL transaction. A crash between the insert and the checkpoint replays the window: the
raw tables are `ReplacingMergeTree(_version, _is_deleted)` keyed on the source key and every
row carries its snapshot's xmin as version, so a replayed row collapses onto the one already
there (and `FINAL` reads never see two).

`full_resync` rebuilds every raw table from one snapshot (new tables swapped in atomically)
and sets the checkpoint to its xmin. A warehouse without a checkpoint starts with one.
"""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa
from clickhouse_connect.driver.client import Client
from sqlalchemy import URL

from pipelines.prefetch import prefetched
from transactional.capture.checkpoints import load_checkpoint, save_checkpoint
from transactional.capture.reader import Snapshot, snapshot
from transactional.capture.scope import captured_table, captured_tables
from warehouse.raw import (
    DATABASE,
    as_warehouse_rows,
    create_raw_tables,
    create_statement,
    write,
)
from warehouse.runs import destination_id, record_run

Hook = Callable[[], None]


@dataclass
class PassReport:
    """What one pass did; `lag_seconds` is commit-side age of the oldest change it applied
    (write time of the change to the moment it was queryable in the warehouse)."""

    kind: str
    destination: str
    since: int
    until: int
    rows: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    lag_seconds: float | None = None

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values()) + sum(self.deleted.values())


def _record(client: Client, report: PassReport) -> None:
    record_run(
        client,
        destination=report.destination,
        kind=report.kind,
        since=report.since,
        until=report.until,
        rows=sum(report.rows.values()),
        deleted=sum(report.deleted.values()),
        tables=len(report.rows.keys() | report.deleted.keys()),
        seconds=report.seconds,
        lag_seconds=report.lag_seconds,
    )


def _owners(table_has_tenant: bool, tenants: list[uuid.UUID]) -> list[uuid.UUID | None]:
    return list(tenants) if table_has_tenant else [None]


def full_resync(
    *, source: URL, client: Client, tables: list[str] | None = None, owner: URL | None = None
) -> PassReport:
    """Rebuild raw tables (every captured one, or the named ones) from one snapshot.

    Each table is loaded into a fresh copy, then exchanged with the live one, so readers see
    the old or the new table, never a half-loaded one. `owner` is where the checkpoint lives
    (default: `source`); a resync of every table sets it to the snapshot's xmin.
    """
    began = time.perf_counter()
    create_raw_tables(client)
    destination = destination_id(client)
    chosen = [t for t in captured_tables() if tables is None or t.name in tables]
    with snapshot(source) as snap:
        report = PassReport("resync", destination, since=0, until=snap.xmin)
        batch = f"resync-{snap.xmin}-{uuid.uuid4().hex[:8]}"
        tenants = snap.tenants()
        for table in chosen:
            staging = f"{table.name}__resync"
            client.command(f"DROP TABLE IF EXISTS {DATABASE}.`{staging}`")
            client.command(create_statement(table, name=staging))
            total = 0
            for tenant in _owners("tenant_id" in table.columns, tenants):
                chunks = prefetched(snap.all_rows_in_chunks(table, tenant))
                for rows in chunks:
                    prepared = as_warehouse_rows(
                        rows, table, version=snap.xmin, deleted=False, batch=batch
                    )
                    total += write(client, table, prepared, token=None, into=staging).rows
            client.command(f"EXCHANGE TABLES {DATABASE}.`{staging}` AND {DATABASE}.`{table.name}`")
            client.command(f"DROP TABLE {DATABASE}.`{staging}`")
            report.rows[table.name] = total
    if tables is None:
        save_checkpoint(owner or source, destination=destination, since=None, until=report.until)
    report.seconds = time.perf_counter() - began
    _record(client, report)
    return report


def _apply(snap: Snapshot, client: Client, report: PassReport, batch: str) -> None:
    for change in snap.changes(since=report.since):
        table = captured_table(change.table)
        token = f"{batch}:{table.name}:{change.tenant_id}"
        rows = snap.changed_rows(table, change.tenant_id, since=report.since)
        prepared = as_warehouse_rows(rows, table, version=snap.xmin, deleted=False, batch=batch)
        written = write(client, table, prepared, token=f"{token}:rows").rows
        report.rows[table.name] = report.rows.get(table.name, 0) + written

        gone = snap.deleted_rows(table, change.tenant_id, since=report.since)
        if gone.num_rows:
            keys = {"id": gone.column("id")}
            if "tenant_id" in table.columns:
                keys["tenant_id"] = pa.array([str(change.tenant_id)] * gone.num_rows)
            tombstones = as_warehouse_rows(
                pa.table(keys), table, version=snap.xmin, deleted=True, batch=batch
            )
            removed = write(client, table, tombstones, token=f"{token}:deleted").rows
            report.deleted[table.name] = report.deleted.get(table.name, 0) + removed


def replicate(
    *,
    source: URL,
    client: Client,
    owner: URL | None = None,
    after_write: Hook | None = None,
) -> PassReport:
    """One incremental pass: everything committed since this warehouse's checkpoint.

    `source` is read (any role that sees every tenant's rows under row-level security once the
    tenant is bound); `owner` (default `source`) holds the checkpoint and the change log.
    `after_write` runs between the warehouse insert and the checkpoint save (tests use it to
    inject a crash there).
    """
    began = time.perf_counter()
    create_raw_tables(client)
    destination = destination_id(client)
    bookkeeping = owner or source
    since = load_checkpoint(bookkeeping, destination=destination)
    if since is None:
        return full_resync(source=source, client=client, owner=owner)
    with snapshot(source) as snap:
        report = PassReport("incremental", destination, since=since, until=snap.xmin)
        if snap.xmin <= since:
            report.seconds = time.perf_counter() - began
            return report
        oldest = snap.oldest_change(since=since)
        _apply(snap, client, report, batch=f"{destination[:8]}-{since}-{snap.xmin}")
    if after_write is not None:
        after_write()
    save_checkpoint(bookkeeping, destination=destination, since=since, until=report.until)
    report.seconds = time.perf_counter() - began
    if oldest is not None:
        report.lag_seconds = (datetime.now(UTC) - oldest).total_seconds()
    _record(client, report)
    return report
