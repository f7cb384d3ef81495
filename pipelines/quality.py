"""Data-quality asset checks on the raw layer and the marts, Great Expectations underneath.

Three multi-asset checks, each one op, because importing GX costs seconds per process:
- `raw_quality`, per raw table: `keys_not_null`, `keys_unique`, `references_resolve` (every
  foreign key to another replicated table) and, for `observations` and `lab_results`,
  `values_in_range` (vital-sign limits of `transactional.charting.vitals`, lab limits of
  `expectations/lab_ranges.yml`);
- `raw_row_counts`, per raw table: `row_count_matches_postgres` (counts on both sides; with
  `checksum: true` in its config, the full content comparison of `pipelines.reconcile`);
- `mart_quality`, per mart of `expectations/marts.yml`: `keys_not_null`, `keys_unique`,
  `rates_within_0_1`, `counts_not_negative`; skipped (not failed) while a mart is not built.

A check passes, fails with severity ERROR (keys, references, counts, marts) or fails with
WARN (implausible values; a row-count gap explained by changes not replicated yet). Every
expectation's outcome is also appended to `ops.check_results` for the dashboards.
"""

import uuid
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    Config,
    MetadataValue,
    multi_asset_check,
)
from sqlalchemy import URL

from pipelines.reconcile import reconcile
from pipelines.replication_assets import raw_key
from pipelines.resources import PostgresResource, WarehouseResource
from transactional.capture.reader import snapshot
from transactional.capture.scope import captured_tables
from transactional.charting.vitals import BMI, BMI_SIGN, VITAL_SIGNS
from warehouse.quality import (
    SAMPLE,
    Connects,
    Frame,
    Outcome,
    iter_checks,
    record_outcomes,
    run_frames,
)
from warehouse.quality_frames import (
    ROW_COUNT,
    Limit,
    Limits,
    MartExpectations,
    mart_frame,
    raw_frame,
    replicated_until,
    warehouse_row_counts,
)

EXPECTATIONS = Path(__file__).with_name("expectations")
MART_DATABASE = "analytics"  # dbt's schema (dbt_project/profiles.yml)


def vital_limits() -> Limits:
    """The limits vital signs are validated against when charted, BMI's included."""
    signs = {**VITAL_SIGNS, BMI: BMI_SIGN}
    return Limits(
        label="vital-sign limits of charting",
        limits=tuple(Limit(code, sign.low, sign.high) for code, sign in sorted(signs.items())),
    )


def _load(name: str) -> Any:
    return yaml.safe_load((EXPECTATIONS / name).read_text())


def lab_limits() -> Limits:
    return Limits(
        label="lab plausibility limits of lab_ranges.yml",
        limits=tuple(
            Limit(str(item["code"]), Decimal(str(item["low"])), Decimal(str(item["high"])))
            for item in _load("lab_ranges.yml")["lab_ranges"]
        ),
    )


def mart_expectations() -> list[MartExpectations]:
    return [
        MartExpectations(
            name=name,
            key=tuple(spec["key"]),
            not_null=tuple(spec.get("not_null", ())),
            rates=tuple(spec.get("rates", ())),
            counts=tuple(spec.get("counts", ())),
        )
        for name, spec in _load("marts.yml")["marts"].items()
    ]


def raw_plan() -> dict[AssetKey, list[Frame]]:
    """The frames that check each raw table."""
    tables = captured_tables()
    names = {table.name for table in tables}
    limits = {"observations": vital_limits(), "lab_results": lab_limits()}
    return {
        raw_key(table.name): [raw_frame(table, captured=names, limits=limits.get(table.name))]
        for table in tables
    }


def mart_plan() -> dict[AssetKey, list[Frame]]:
    return {
        AssetKey([mart.name]): [mart_frame(mart, database=MART_DATABASE)]
        for mart in mart_expectations()
    }


def _check_names(frames: Sequence[Frame]) -> list[str]:
    return list(dict.fromkeys(rule.check for frame in frames for rule in frame.rules))


def _specs(plan: Mapping[AssetKey, Sequence[Frame]]) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            check,
            asset=key,
            description="; ".join(
                rule.expects for frame in frames for rule in frame.rules if rule.check == check
            ),
        )
        for key, frames in plan.items()
        for check in _check_names(frames)
    ]


def _result(key: AssetKey, check: str, outcomes: Sequence[Outcome]) -> AssetCheckResult | None:
    """The Dagster result of one check from its expectations' outcomes; None if skipped."""
    ran = [o for o in outcomes if o.status != "skipped"]
    if not ran:
        return None
    failed = [o for o in ran if not o.passed]
    keys = list(dict.fromkeys(k for o in failed for k in o.failing_keys))[:SAMPLE]
    severe = any(o.severity == "ERROR" for o in failed)
    return AssetCheckResult(
        asset_key=key,
        check_name=check,
        passed=not failed,
        severity=AssetCheckSeverity.ERROR if severe or not failed else AssetCheckSeverity.WARN,
        description="; ".join(f"{o.expectation}: {o.observed}" for o in failed) or None,
        metadata={
            "expectations": len(ran),
            "failed_expectations": MetadataValue.json([o.expectation for o in failed]),
            "failing_rows": sum(o.failing_rows for o in failed),
            "failing_keys": MetadataValue.json(keys),
            "observed": MetadataValue.json({o.expectation: o.observed for o in ran}),
        },
    )


def _record(warehouse: Connects, outcomes: Sequence[Outcome], run_id: str) -> None:
    with warehouse.connect() as client:
        record_outcomes(client, outcomes, run_id=run_id)


def _run_plan(
    context: AssetCheckExecutionContext,
    warehouse: Connects,
    plan: Mapping[AssetKey, Sequence[Frame]],
) -> Iterator[AssetCheckResult]:
    """Run the selected checks of `plan`, record every outcome, then report each check."""
    selected = context.selected_asset_check_keys
    chosen = []
    for key, frames in plan.items():
        wanted = {check.name for check in selected if check.asset_key == key}
        chosen += [(key, part) for frame in frames if (part := frame.only(wanted)).rules]
    found = run_frames(warehouse, [frame for _, frame in chosen])
    _record(warehouse, [outcome for outcomes in found for outcome in outcomes], context.run.run_id)
    for (key, _), outcomes in zip(chosen, found, strict=True):
        for _, check, members in iter_checks(outcomes):
            result = _result(key, check, members)
            if result is None:
                context.log.info(f"{key.to_user_string()} {check}: skipped, {members[0].observed}")
                continue
            yield result


def compare_row_counts(
    *, warehouse: Connects, source: URL, tables: Sequence[str], checksum: bool = False
) -> list[Outcome]:
    """Per table: PostgreSQL rows against warehouse rows (FINAL, deletions dropped).

    A gap is an ERROR unless changes of that table are in the change log beyond the
    warehouse's last pass, or a pass ran while counting: then replication is behind, a WARN.
    `checksum` compares content as well (reads every row of both sides: slow at scale).
    """
    chosen = [table for table in captured_tables() if table.name in tables]
    with warehouse.connect() as client:
        until = replicated_until(client)
        here = warehouse_row_counts(client, [table.name for table in chosen])
    with snapshot(source) as snap:
        tenants: list[uuid.UUID | None] = list(snap.tenants())
        there = {
            table.name: sum(
                snap.row_count(table, tenant)
                for tenant in (tenants if "tenant_id" in table.columns else [None])
            )
            for table in chosen
        }
        behind = snap.pending_tables(since=until) if until is not None else set()
    same = {table.name: here[table.name] == there[table.name] for table in chosen}
    if checksum:
        with warehouse.connect() as client:
            compared = reconcile(source=source, client=client, tables=list(tables))
        same.update({r.table: r.matches for r in compared})
    with warehouse.connect() as client:
        moved = replicated_until(client) != until
    expected = "warehouse rows equal PostgreSQL rows" + (" (content checksum)" if checksum else "")
    outcomes = []
    for table in chosen:
        observed = f"postgres {there[table.name]} rows, warehouse {here[table.name]} rows"
        if same[table.name]:
            outcomes.append(
                Outcome(
                    f"raw/{table.name}", ROW_COUNT, expected, "passed", "ERROR", observed, expected
                )
            )
            continue
        lagging = moved or table.name in behind
        if lagging:
            observed += "; changes not replicated yet"
        elif checksum and here[table.name] == there[table.name]:
            observed += "; content differs"
        outcomes.append(
            Outcome(
                f"raw/{table.name}",
                ROW_COUNT,
                expected,
                "failed",
                "WARN" if lagging else "ERROR",
                observed,
                expected,
                failing_rows=abs(there[table.name] - here[table.name]),
            )
        )
    return outcomes


class RowCountConfig(Config):
    checksum: bool = False


def raw_quality_checks() -> AssetChecksDefinition:
    plan = raw_plan()

    @multi_asset_check(
        name="raw_quality",
        specs=_specs(plan),
        can_subset=True,
        description="Keys, references and value ranges of the replicated raw tables.",
    )
    def raw_quality(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[AssetCheckResult]:
        yield from _run_plan(context, warehouse, plan)

    return raw_quality


def row_count_checks() -> AssetChecksDefinition:
    @multi_asset_check(
        name="raw_row_counts",
        specs=[
            AssetCheckSpec(
                ROW_COUNT,
                asset=raw_key(table.name),
                description="Live rows in the warehouse equal rows in PostgreSQL.",
            )
            for table in captured_tables()
        ],
        can_subset=True,
        description="Row-count reconciliation between PostgreSQL and the raw layer.",
    )
    def raw_row_counts(
        context: AssetCheckExecutionContext,
        config: RowCountConfig,
        warehouse: WarehouseResource,
        postgres: PostgresResource,
    ) -> Iterator[AssetCheckResult]:
        tables = [check.asset_key.path[-1] for check in context.selected_asset_check_keys]
        outcomes = compare_row_counts(
            warehouse=warehouse, source=postgres.owner_url, tables=tables, checksum=config.checksum
        )
        _record(warehouse, outcomes, context.run.run_id)
        for _, check, members in iter_checks(outcomes):
            result = _result(raw_key(members[0].asset.split("/", 1)[1]), check, members)
            if result is not None:
                yield result

    return raw_row_counts


def mart_quality_checks() -> AssetChecksDefinition:
    plan = mart_plan()

    @multi_asset_check(
        name="mart_quality",
        specs=_specs(plan),
        can_subset=True,
        description="Keys, rates and counts of the dbt marts (skipped until a mart is built).",
    )
    def mart_quality(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[AssetCheckResult]:
        yield from _run_plan(context, warehouse, plan)

    return mart_quality


def quality_checks() -> list[AssetChecksDefinition]:
    """Every data-quality check, for `Definitions(asset_checks=...)`."""
    return [raw_quality_checks(), row_count_checks(), mart_quality_checks()]
