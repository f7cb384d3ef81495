"""The warehouse's own bookkeeping: which warehouse this is, and what replication did.

`ops.destination` holds one id, made the first time replication reaches this warehouse; it
names the warehouse's checkpoint in PostgreSQL, so a new (or wiped) warehouse starts with a
full resync instead of trusting a checkpoint that describes another one.
`ops.replication_runs` keeps every pass (rows, duration, freshness) for the dashboards; it
holds counts and times only.
"""

import uuid
from datetime import UTC, datetime

from clickhouse_connect.driver.client import Client

OPS = "ops"
_RUN_COLUMNS = [
    "finished_at",
    "destination",
    "kind",
    "since",
    "until",
    "rows",
    "deleted",
    "tables",
    "seconds",
    "lag_seconds",
]


def create_ops_tables(client: Client) -> None:
    client.command(f"CREATE DATABASE IF NOT EXISTS {OPS}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {OPS}.destination "
        "(id String, created_at DateTime64(6, 'UTC')) ENGINE = MergeTree ORDER BY created_at"
    )
    client.command(
        f"CREATE TABLE IF NOT EXISTS {OPS}.replication_runs ("
        "finished_at DateTime64(6, 'UTC'), destination String, kind LowCardinality(String), "
        "since UInt64, until UInt64, rows UInt64, deleted UInt64, tables UInt32, "
        "seconds Float64, lag_seconds Nullable(Float64)"
        ") ENGINE = MergeTree ORDER BY finished_at TTL toDateTime(finished_at) + INTERVAL 90 DAY"
    )


def destination_id(client: Client) -> str:
    create_ops_tables(client)
    found = client.query("SELECT id FROM ops.destination ORDER BY created_at LIMIT 1")
    if found.result_rows:
        return str(found.result_rows[0][0])
    made = uuid.uuid4().hex
    client.insert(
        f"{OPS}.destination", [[made, datetime.now(UTC)]], column_names=["id", "created_at"]
    )
    return made


def record_run(
    client: Client,
    *,
    destination: str,
    kind: str,
    since: int,
    until: int,
    rows: int,
    deleted: int,
    tables: int,
    seconds: float,
    lag_seconds: float | None,
) -> None:
    client.insert(
        f"{OPS}.replication_runs",
        [
            [
                datetime.now(UTC),
                destination,
                kind,
                since,
                until,
                rows,
                deleted,
                tables,
                seconds,
                lag_seconds,
            ]
        ],
        column_names=_RUN_COLUMNS,
    )
