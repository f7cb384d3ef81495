"""The tables cohorts are materialized into, and the scratch tables of a run.

Each result table is partitioned by (tenant_id, cohort): a run builds its rows in a scratch
copy and swaps the whole partition in with `REPLACE PARTITION`, so readers see the previous
result or the new one, never a mixture, and re-running replaces rather than appends.
"""

from clickhouse_connect.driver.client import Client

from warehouse.cohorts.sql import ANALYTICS, Stage

_PARTITIONED = "ENGINE = MergeTree PARTITION BY (tenant_id, cohort) ORDER BY (tenant_id, cohort, "

TABLES: dict[str, str] = {
    "cohort_membership": (
        "tenant_id UUID, cohort String, version String, definition_hash String, "
        "patient_id UUID, entry_at DateTime64(6, 'UTC'), entry_end_at DateTime64(6, 'UTC'), "
        "entry_kind LowCardinality(String), entry_code_system String, entry_code String, "
        "age_at_entry UInt16, sex LowCardinality(String), "
        "materialized_at DateTime64(6, 'UTC')"
    ),
    "cohort_outcomes": (
        "tenant_id UUID, cohort String, version String, patient_id UUID, "
        "entry_at DateTime64(6, 'UTC'), outcome String, anchor_date Date32, "
        "within_days UInt16, follow_up_complete UInt8, occurred UInt8, "
        "first_event_at Nullable(DateTime64(6, 'UTC')), materialized_at DateTime64(6, 'UTC')"
    ),
    "cohort_attrition": (
        "tenant_id UUID, cohort String, version String, definition_hash String, "
        "rule_order UInt16, rule_type LowCardinality(String), rule_name String, "
        "patients_before Nullable(UInt64), patients_removed Nullable(UInt64), "
        "patients_remaining Nullable(UInt64), is_suppressed UInt8, "
        "materialized_at DateTime64(6, 'UTC')"
    ),
    "cohort_characterization": (
        "tenant_id UUID, cohort String, version String, definition_hash String, "
        "section LowCardinality(String), item_order UInt16, item String, "
        "label Nullable(String), unit Nullable(String), counted LowCardinality(String), "
        "numerator Nullable(UInt64), denominator Nullable(UInt64), "
        "proportion Nullable(Float64), p25 Nullable(Float64), median Nullable(Float64), "
        "p75 Nullable(Float64), is_suppressed UInt8, materialized_at DateTime64(6, 'UTC')"
    ),
}
_ORDER = {
    "cohort_membership": "patient_id, entry_at)",
    "cohort_outcomes": "outcome, patient_id, entry_at)",
    "cohort_attrition": "rule_order)",
    "cohort_characterization": "section, item_order)",
}
ENTRY_COLUMNS = (
    "patient_id UUID, entry_at DateTime64(6, 'UTC'), entry_end_at DateTime64(6, 'UTC'), "
    "entry_kind String, entry_code_system String, entry_code String, age_at_entry UInt16, "
    "sex String"
)


def qualified(table: str) -> str:
    return f"{ANALYTICS}.{table}"


def create_result_tables(client: Client) -> None:
    client.command(f"CREATE DATABASE IF NOT EXISTS {ANALYTICS}")
    for name, columns in TABLES.items():
        client.command(
            f"CREATE TABLE IF NOT EXISTS {qualified(name)} ({columns}) {_PARTITIONED}{_ORDER[name]}"
        )


def create_stage(client: Client, stage: Stage) -> None:
    client.command(f"CREATE TABLE {stage.entries} ({ENTRY_COLUMNS}) ENGINE = Memory")
    client.command(
        f"CREATE TABLE {stage.flags} ({ENTRY_COLUMNS}, survives Array(UInt8)) ENGINE = Memory"
    )
    for name in TABLES:
        client.command(f"CREATE TABLE {stage.table(name)} AS {qualified(name)}")


def drop_stage(client: Client, stage: Stage) -> None:
    for purpose in ("entries", "flags", *TABLES):
        client.command(f"DROP TABLE IF EXISTS {stage.table(purpose)}")


def swap_in(client: Client, stage: Stage, *, tenant_id: str, cohort: str) -> None:
    """Replace each result table's (tenant, cohort) partition with the scratch copy's."""
    partition = "(toUUID({tenant:String}), {cohort:String})"
    parameters = {"tenant": tenant_id, "cohort": cohort}
    for name in TABLES:
        staged = client.query(
            f"SELECT count() FROM {stage.table(name)}",  # noqa: S608 - our scratch table
            parameters=parameters,
        ).result_rows[0][0]
        if staged:
            client.command(
                f"ALTER TABLE {qualified(name)} REPLACE PARTITION {partition} "
                f"FROM {stage.table(name)}",
                parameters=parameters,
            )
        else:
            client.command(
                f"ALTER TABLE {qualified(name)} DROP PARTITION {partition}",
                parameters=parameters,
            )
