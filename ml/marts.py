"""Reading the ML feature marts (`analytics.ml_*`, built by dbt) through the warehouse client."""

# ruff: noqa: S608 - table and column names come from the model specifications; values travel
# as query parameters.

import uuid
from collections.abc import Sequence

import polars as pl
from clickhouse_connect.driver.client import Client

from ml.features.spec import ModelSpec

ANALYTICS = "analytics"
_UNIT_COLUMNS = ("index_date", "window_end_date", "has_complete_window", "is_scoring_unit")
_GROUP_COLUMNS = ("sex", "race", "age_years")


def _columns(spec: ModelSpec) -> list[str]:
    wanted = [
        "toString(tenant_id) AS tenant_id",
        "toString(patient_id) AS patient_id",
    ]
    if spec.key != "index_date":
        wanted.append(f"toString({spec.key}) AS {spec.key}")
    seen = {"tenant_id", "patient_id"} | ({spec.key} - {"index_date"})
    for name in (*_UNIT_COLUMNS, *spec.input_names, *_GROUP_COLUMNS, spec.outcome_column):
        if name not in seen:
            wanted.append(name)
            seen.add(name)
    return wanted


def mart_tenants(client: Client, spec: ModelSpec) -> list[uuid.UUID]:
    result = client.query(f"SELECT DISTINCT toString(tenant_id) FROM {ANALYTICS}.{spec.mart}")
    return sorted(uuid.UUID(row[0]) for row in result.result_rows)


def mart_units(
    client: Client,
    spec: ModelSpec,
    *,
    tenants: Sequence[uuid.UUID],
    scoring: bool | None = None,
    complete: bool | None = None,
) -> pl.DataFrame:
    """The units of `spec`'s mart for these tenants: all, or only those scored today
    (`scoring=True`), or only those with a complete outcome window (`complete=True`)."""
    where = ["tenant_id IN %(tenants)s"]
    if scoring is not None:
        where.append("is_scoring_unit" if scoring else "NOT is_scoring_unit")
    if complete is not None:
        where.append("has_complete_window" if complete else "NOT has_complete_window")
    table = client.query_arrow(
        f"SELECT {', '.join(_columns(spec))} FROM {ANALYTICS}.{spec.mart} "
        f"WHERE {' AND '.join(where)} ORDER BY tenant_id, patient_id, {spec.key}",
        parameters={"tenants": [str(t) for t in tenants]},
    )
    frame = pl.from_arrow(table)
    if not isinstance(frame, pl.DataFrame):
        raise TypeError("the warehouse answered with a column, not a table")
    return frame
