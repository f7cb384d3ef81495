"""Materializing a cohort for a tenant: membership, outcomes, attrition, characterization.

Callable with a definition object, a mapping or YAML text, so the pipeline (shipped files),
the extract command and the dashboards (a definition typed by a manager) share one path.
Re-running replaces the tenant's previous result for that cohort name atomically per table.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from warehouse.cohorts import characterization, compiler, suppression
from warehouse.cohorts.definition import CohortDefinition
from warehouse.cohorts.loader import parse_definition
from warehouse.cohorts.sql import ANALYTICS, EVENTS, Query, Stage
from warehouse.cohorts.tables import create_result_tables, create_stage, drop_stage, swap_in

ATTRITION_COLUMNS = (
    "tenant_id",
    "cohort",
    "version",
    "definition_hash",
    "rule_order",
    "rule_type",
    "rule_name",
    "patients_before",
    "patients_removed",
    "patients_remaining",
    "is_suppressed",
    "materialized_at",
)


class WarehouseNotBuilt(RuntimeError):
    """The analytics models cohorts read from do not exist yet (run the dbt build)."""


@dataclass(frozen=True)
class AttritionStep:
    rule_order: int
    rule_type: str  # entry, inclusion or exclusion
    rule_name: str
    patients_before: int | None
    patients_removed: int | None
    patients_remaining: int | None
    is_suppressed: bool


@dataclass(frozen=True)
class CohortResult:
    """What a run published; every count already suppressed."""

    tenant_id: uuid.UUID
    definition: CohortDefinition
    materialized_at: datetime
    as_of: date | None
    attrition: list[AttritionStep]
    characterization: list[characterization.Item]

    @property
    def size(self) -> int | None:
        """Members (patients); None when suppressed (1 to 10)."""
        return self.attrition[-1].patients_remaining


def as_definition(definition: CohortDefinition | Mapping[str, Any] | str) -> CohortDefinition:
    if isinstance(definition, CohortDefinition):
        return definition
    return parse_definition(definition)


def ensure_built(client: Client) -> None:
    present = client.query(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        parameters={"db": ANALYTICS, "t": EVENTS.split(".", 1)[1]},
    ).result_rows[0][0]
    if not present:
        raise WarehouseNotBuilt(f"{EVENTS} does not exist: run the dbt build first")


def warehouse_tenants(client: Client) -> list[uuid.UUID]:
    """Tenants with records in the cohort event table."""
    ensure_built(client)
    rows = client.query(f"SELECT DISTINCT tenant_id FROM {EVENTS} ORDER BY tenant_id")  # noqa: S608
    return [uuid.UUID(str(row[0])) for row in rows.result_rows]


def _run(client: Client, query: Query) -> None:
    client.command(query.sql, parameters=query.parameters)


def _data_horizon(client: Client, tenant_id: uuid.UUID) -> date | None:
    """The last day the tenant's data cover: follow-up windows ending later are incomplete."""
    value = client.query(
        f"SELECT toNullable(max(toDate(event_at))) FROM {EVENTS} "  # noqa: S608
        "WHERE tenant_id = {t:UUID} "
        "HAVING count() > 0",
        parameters={"t": str(tenant_id)},
    ).result_rows
    return value[0][0] if value else None


def _attrition(definition: CohortDefinition, remaining: Sequence[int]) -> list[AttritionStep]:
    names = [("entry", f"entry: {definition.entry.kind}")] + [
        (kind, rule.name) for kind, rule in definition.rules
    ]
    return [
        AttritionStep(
            rule_order=order,
            rule_type=kind,
            rule_name=name,
            patients_before=row.before,
            patients_removed=row.removed,
            patients_remaining=row.remaining,
            is_suppressed=row.is_suppressed,
        )
        for order, ((kind, name), row) in enumerate(
            zip(names, suppression.attrition(remaining), strict=True)
        )
    ]


def materialize_cohort(
    client: Client,
    *,
    definition: CohortDefinition | Mapping[str, Any] | str,
    tenant_id: uuid.UUID,
    as_of: date | None = None,
    now: datetime | None = None,
) -> CohortResult:
    """Build the cohort for one tenant and publish it in the analytics cohort tables.

    `as_of` is the last day of data for outcome follow-up (default: the tenant's latest
    record)."""
    cohort = as_definition(definition)
    ensure_built(client)
    create_result_tables(client)
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    run = compiler.Run(tenant_id, cohort, stamp.strftime("%Y-%m-%d %H:%M:%S.%f"))
    stage = Stage.fresh()
    create_stage(client, stage)
    try:
        _run(client, compiler.entries_query(cohort, tenant_id, stage))
        _run(client, compiler.flags_query(cohort, tenant_id, stage))
        counts = client.query(compiler.attrition_query(cohort, stage).sql).result_rows[0]
        steps = _attrition(cohort, [int(n) for n in counts])
        common = [tenant_id, cohort.name, cohort.version, cohort.fingerprint()]
        client.insert(
            stage.table("cohort_attrition"),
            [
                [
                    *common,
                    s.rule_order,
                    s.rule_type,
                    s.rule_name,
                    s.patients_before,
                    s.patients_removed,
                    s.patients_remaining,
                    int(s.is_suppressed),
                    stamp,
                ]
                for s in steps
            ],
            column_names=list(ATTRITION_COLUMNS),
        )
        members = stage.table("cohort_membership")
        _run(client, compiler.members_query(run, stage, members))
        horizon = as_of or _data_horizon(client, tenant_id)
        if horizon is not None:
            for outcome in cohort.outcomes:
                target = stage.table("cohort_outcomes")
                _run(client, compiler.outcome_query(run, outcome, members, target, horizon))
        items = characterization.characterize(
            client,
            definition=cohort,
            tenant_id=str(tenant_id),
            members=members,
            outcomes=stage.table("cohort_outcomes"),
        )
        client.insert(
            stage.table("cohort_characterization"),
            [[*common, *row, stamp] for row in characterization.as_rows(items)],
            column_names=[
                "tenant_id",
                "cohort",
                "version",
                "definition_hash",
                *characterization.COLUMNS,
                "materialized_at",
            ],
        )
        swap_in(client, stage, tenant_id=str(tenant_id), cohort=cohort.name)
    finally:
        drop_stage(client, stage)
    return CohortResult(
        tenant_id=tenant_id,
        definition=cohort,
        materialized_at=stamp,
        as_of=horizon,
        attrition=steps,
        characterization=items,
    )


def member_ids(client: Client, *, tenant_id: uuid.UUID, cohort: str) -> list[uuid.UUID]:
    """Patients of a materialized cohort (patient-level: for extracts, never for display)."""
    rows = client.query(
        "SELECT DISTINCT patient_id FROM analytics.cohort_membership "
        "WHERE tenant_id = {t:UUID} AND cohort = {c:String} ORDER BY patient_id",
        parameters={"t": str(tenant_id), "c": cohort},
    ).result_rows
    return [uuid.UUID(str(row[0])) for row in rows]
