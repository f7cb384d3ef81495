"""Bulk loading of generated tables: COPY into a staging table, then INSERT ... SELECT.

PostgreSQL refuses COPY FROM into a table under row-level security for a role subject to it,
so rows are copied into a temporary table (no RLS) and moved by one INSERT ... SELECT per
chunk as the app role: every row still passes the tenant policy, every constraint, foreign key
and trigger (the billing ledger, change capture). One transaction for the whole population:
it appears whole or not at all. One audit event per table batch, with counts only.
"""

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import polars as pl
from psycopg import sql
from sqlalchemy import Table
from sqlalchemy.orm import Session

from transactional.audit.trail import SYSTEM, Actor, AuditEntry, record
from transactional.base import Base
from transactional.database import Database

CHUNK_ROWS = 250_000


class LoadError(ValueError):
    """Generated rows that do not fit their table (a bug in the generator, not bad input)."""


@dataclass
class LoadReport:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def table_named(name: str) -> Table:
    import transactional.models  # noqa: F401 - every table on the metadata

    return Base.metadata.tables[name]


def insertable(table: Table) -> list[str]:
    """Columns a load may write: not generated, and not maintained by the database."""
    return [c.name for c in table.columns if c.computed is None and c.identity is None]


def csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists become PostgreSQL array literals; everything else polars writes as COPY reads it."""
    lists = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    return frame.with_columns(
        ("{" + pl.col(name).cast(pl.List(pl.String)).list.join(",") + "}").alias(name)
        for name in lists
    )


def _chunks(frame: pl.DataFrame) -> Iterator[pl.DataFrame]:
    for offset in range(0, frame.height, CHUNK_ROWS):
        yield frame.slice(offset, CHUNK_ROWS)


def copy_table(session: Session, name: str, frame: pl.DataFrame, *, analyze: bool = True) -> int:
    """Move `frame` into table `name` inside the session's transaction; returns the rows.

    `analyze` refreshes the table's statistics afterwards (migration 0015). ANALYZE holds a
    lock that conflicts with itself until the transaction ends, so concurrent loads leave it
    to the first one.
    """
    table = table_named(name)
    allowed = set(insertable(table))
    unknown = set(frame.columns) - allowed
    if unknown:
        raise LoadError(f"{name}: columns the table does not take: {sorted(unknown)}")
    columns = [c for c in insertable(table) if c in frame.columns]
    missing = [
        c.name
        for c in table.columns
        if c.name in allowed
        and c.name not in frame.columns
        and not c.nullable
        and c.server_default is None
    ]
    if missing:
        raise LoadError(f"{name}: required columns missing: {missing}")
    target, stage = sql.Identifier(name), sql.Identifier(f"stage_{name}")
    listed = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    create = sql.SQL(
        "CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING GENERATED) ON COMMIT DROP"
    ).format(stage, target)
    copy_in = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, NULL {})").format(
        stage, listed, sql.Literal("\\N")
    )
    move = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(target, listed, listed, stage)
    with raw.cursor() as cursor:
        cursor.execute(create)
        for chunk in _chunks(frame.select(columns)):
            data = csv_ready(chunk).write_csv(include_header=False, null_value="\\N")
            with cursor.copy(copy_in) as copy:
                copy.write(data)
            cursor.execute(move)
            cursor.execute(sql.SQL("TRUNCATE {}").format(stage))
        cursor.execute(sql.SQL("DROP TABLE {}").format(stage))
        if analyze:
            # Statistics of what was just loaded, before children check their foreign keys
            # against it.
            cursor.execute("SELECT app_analyze(%s::regclass)", (name,))
    return frame.height


def _patient_of(name: str, frame: pl.DataFrame, claims: pl.DataFrame | None) -> pl.Series | None:
    """Whose row this is, for splitting a population into batches of whole patients."""
    if name == "patients":
        return frame["id"]
    if "patient_id" in frame.columns:
        return frame["patient_id"]
    if "claim_id" in frame.columns and claims is not None:
        owner = frame.select("claim_id").join(
            claims.select(claim_id="id", patient_id="patient_id"),
            on="claim_id",
            how="left",
            maintain_order="left",
        )
        return owner["patient_id"]
    return None


def split_by_patient(
    tables: dict[str, pl.DataFrame], batches: int
) -> tuple[dict[str, pl.DataFrame], list[dict[str, pl.DataFrame]]]:
    """Tenant-wide tables, and `batches` groups of whole patients with everything of theirs.

    Frames are consumed: each is dropped from `tables` once split, to bound memory.
    """
    patients = tables["patients"]["id"]
    number = pl.DataFrame(
        {
            "patient_id": patients,
            "batch": (
                pl.int_range(patients.len(), eager=True) * batches // max(patients.len(), 1)
            ).cast(pl.Int32),
        }
    )
    shared: dict[str, pl.DataFrame] = {}
    parts: list[dict[str, pl.DataFrame]] = [{} for _ in range(batches)]
    claims = tables.get("claims")
    for name in list(tables):
        frame = tables.pop(name)
        owner = _patient_of(name, frame, claims)
        if owner is None:
            shared[name] = frame
            continue
        labelled = frame.with_columns(owner.alias("__patient")).join(
            number, left_on="__patient", right_on="patient_id", how="left", maintain_order="left"
        )
        if labelled["batch"].null_count():
            raise LoadError(f"{name}: rows of patients who are not in the population")
        for (batch,), part in labelled.partition_by("batch", as_dict=True).items():
            parts[int(batch)][name] = part.drop("__patient", "batch")
    return shared, parts


def load_population(
    *,
    database: Database,
    tenant_id: uuid.UUID,
    tables: dict[str, pl.DataFrame],
    batch: str,
    workers: int = 2,
    batches: int = 8,
    progress: Callable[[str, int, float], None] | None = None,
) -> LoadReport:
    """Tenant-wide rows in one transaction, then batches of whole patients in parallel ones.

    Each batch transaction holds whole patients with every row of theirs, so whatever is
    committed is consistent; a failing batch stops the batches not yet begun. Each writes to
    its own audit chain, so concurrent batches never wait on one chain's lock.
    """
    from concurrent.futures import ThreadPoolExecutor

    from transactional.audit.trail import CHAINS, pin_chain
    from transactional.tenancy import bind_tenant

    shared, parts = split_by_patient(tables, batches)
    report = LoadReport()

    def merge(part: LoadReport) -> None:
        for name, rows in part.rows.items():
            report.rows[name] = report.rows.get(name, 0) + rows
            report.seconds[name] = report.seconds.get(name, 0.0) + part.seconds[name]

    with database.transaction() as session:
        bind_tenant(session, tenant_id)
        pin_chain(session, 0)
        merge(
            load_tables(
                session=session, tenant_id=tenant_id, tables=shared, batch=batch, progress=progress
            )
        )

    def load_part(index: int) -> LoadReport:
        with database.transaction() as session:
            bind_tenant(session, tenant_id)
            pin_chain(session, 1 + index % (CHAINS - 1))
            return load_tables(
                session=session,
                tenant_id=tenant_id,
                tables=parts[index],
                batch=f"{batch}:part{index + 1}/{len(parts)}",
                progress=progress,
                analyze=index == 0,
            )

    # The first batch alone, leaving statistics for the others' foreign-key checks.
    merge(load_part(0))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(load_part, index) for index in range(1, len(parts))]
        try:
            for future in futures:
                merge(future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return report


def load_tables(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    tables: dict[str, pl.DataFrame],
    batch: str,
    actor: Actor = SYSTEM,
    progress: Callable[[str, int, float], None] | None = None,
    analyze: bool = True,
) -> LoadReport:
    """Load every frame, parents before children (the metadata's foreign-key order)."""
    import transactional.models  # noqa: F401

    order = [t.name for t in Base.metadata.sorted_tables if t.name in tables]
    unknown = set(tables) - set(order)
    if unknown:
        raise LoadError(f"no such tables: {sorted(unknown)}")
    report = LoadReport()
    for name in order:
        began = time.perf_counter()
        rows = copy_table(session, name, tables[name], analyze=analyze)
        record(
            session=session,
            tenant_id=tenant_id,
            actor=actor,
            entry=AuditEntry(
                action="bulk.load",
                resource_type=name,
                detail={"rows": rows, "batch": batch},
            ),
        )
        report.rows[name] = rows
        report.seconds[name] = time.perf_counter() - began
        if progress is not None:
            progress(name, rows, report.seconds[name])
    return report
