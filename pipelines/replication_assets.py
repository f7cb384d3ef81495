"""Replication as Dagster assets: one raw asset per captured table, a sensor for micro-batches,
and a slower sensor that rebuilds the marts when the data has moved.

One multi-asset writes the whole raw layer in a pass (a pass is one PostgreSQL snapshot, so the
tables stay mutually consistent) and reports each table with the rows it wrote there.
The sensor looks at the newest change-log id, cheaply and without touching the warehouse, and
asks for a pass whenever it has moved. The marts sensor asks for a catch-up run (dbt build,
cohorts, checks, scores, the dashboards' snapshot) at most every few minutes, only when the
change log grew since the last one it asked for and none is under way.
"""

from collections.abc import Iterator

import psycopg
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    DagsterRunStatus,
    DefaultSensorStatus,
    MaterializeResult,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    multi_asset,
    sensor,
)

from pipelines.replication import PassReport, full_resync, replicate
from pipelines.resources import PostgresResource, WarehouseResource
from transactional.capture.reader import libpq_uri
from transactional.capture.scope import captured_tables

RAW_GROUP = "raw"
CATCH_UP_JOB = "catch_up"
MARTS_INTERVAL_SECONDS = 300
UNDER_WAY = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def raw_key(table: str) -> AssetKey:
    return AssetKey([RAW_GROUP, table])


class ReplicationConfig(Config):
    full_resync: bool = False


@multi_asset(
    name="raw_tables",
    specs=[
        AssetSpec(
            raw_key(table.name),
            group_name=RAW_GROUP,
            description=f"PostgreSQL `{table.name}`, replicated (ReplacingMergeTree; read FINAL).",
            kinds={"clickhouse"},
        )
        for table in captured_tables()
    ],
    can_subset=False,
)
def raw_tables(
    context: AssetExecutionContext,
    config: ReplicationConfig,
    warehouse: WarehouseResource,
    postgres: PostgresResource,
) -> Iterator[MaterializeResult[None]]:
    """One replication pass (incremental, or a full resync when configured or first run)."""
    source = postgres.owner_url
    with warehouse.connect() as client:
        if config.full_resync:
            report: PassReport = full_resync(source=source, client=client)
        else:
            report = replicate(source=source, client=client)
    context.log.info(
        f"{report.kind} pass {report.since}..{report.until}: {report.total_rows} rows "
        f"in {report.seconds:.2f}s"
    )
    # Every raw table is reported, changed or not: a table left out would make Dagster skip
    # everything downstream of it (dbt reads them all) in a catch-up run.
    for table in sorted(t.name for t in captured_tables()):
        yield MaterializeResult(
            asset_key=raw_key(table),
            metadata={
                "pass": report.kind,
                "rows_written": report.rows.get(table, 0),
                "rows_deleted": report.deleted.get(table, 0),
                "watermark": report.until,
                "lag_seconds": report.lag_seconds,
            },
        )


replication_job = define_asset_job(
    "replicate", selection=[raw_key(t.name) for t in captured_tables()]
)


def newest_change(postgres: PostgresResource) -> int:
    """The change log's newest id ever handed out: its identity sequence, which only grows
    (the log itself is pruned behind every warehouse's checkpoint, so max(id) can fall)."""
    with psycopg.connect(libpq_uri(postgres.owner_url)) as connection:
        row = connection.execute(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM change_log_id_seq"
        ).fetchone()
    return int(row[0]) if row else 0


@sensor(
    job=replication_job,
    minimum_interval_seconds=5,
    default_status=DefaultSensorStatus.RUNNING,
    description="A replication pass whenever the change log has grown.",
)
def replication_sensor(
    context: SensorEvaluationContext, postgres: PostgresResource
) -> SensorResult | SkipReason:
    newest = newest_change(postgres)
    seen = int(context.cursor) if context.cursor else -1
    if newest == seen:
        return SkipReason(f"no change since change-log id {newest}")
    return SensorResult(run_requests=[RunRequest(run_key=f"changes-{newest}")], cursor=str(newest))


@sensor(
    job_name=CATCH_UP_JOB,
    minimum_interval_seconds=MARTS_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="A catch-up run (marts, cohorts, checks, scores, dashboards' snapshot) every "
    f"{MARTS_INTERVAL_SECONDS // 60} minutes at most, when the change log grew and none runs.",
)
def marts_sensor(
    context: SensorEvaluationContext, postgres: PostgresResource
) -> SensorResult | SkipReason:
    newest = newest_change(postgres)
    if not context.cursor:
        # Its first look: the marts were built when the warehouse was set up (`emr pipeline
        # run`, `emr demo`); from here on, rebuild when the data moves.
        return SensorResult(skip_reason=f"watching from change-log id {newest}", cursor=str(newest))
    if newest == int(context.cursor):
        return SkipReason(f"no change since change-log id {newest}")
    running = context.instance.get_runs(
        filters=RunsFilter(job_name=CATCH_UP_JOB, statuses=UNDER_WAY), limit=1
    )
    if running:
        return SkipReason(f"catch-up run {running[0].run_id} is under way")
    return SensorResult(run_requests=[RunRequest(run_key=f"marts-{newest}")], cursor=str(newest))
