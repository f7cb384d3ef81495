"""Data-quality expectations over warehouse tables, run with Great Expectations, kept in `ops`.

There is no GX datasource for ClickHouse, so a check pulls a pandas frame of only the columns
its expectations need and validates it with GX's pandas engine. What one row cannot show on
its own is computed by ClickHouse as a column of the frame: whether a parent row exists, a
hash of a business key, the limits that apply to a row's code. GX judges the rest.

A table larger than `chunk_rows` is read in buckets of `cityHash64(bucket) % n`, once per
distinct bucket expression: a uniqueness rule is bucketed by its own key, so duplicates land in
the same bucket and uniqueness per bucket is uniqueness of the table, in bounded memory. The
warehouse is held only while a bucket is read, never while GX runs.

Outcomes go to `ops.check_results`, one row per expectation, with ids of failing rows only: a
frame carries ids, codes, numbers and hashes of business keys, never names or other PHI.
"""

import math
import warnings
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from clickhouse_connect.driver.client import Client

from warehouse.runs import OPS, create_ops_tables

Severity = Literal["ERROR", "WARN"]
Status = Literal["passed", "failed", "skipped"]
Kind = Literal["not_null", "unique", "in_set", "between", "not_below"]
SAMPLE = 20  # failing keys kept per expectation
CHUNK_ROWS = 500_000  # rows per bucket read into pandas
NIL_UUID = "00000000-0000-0000-0000-000000000000"

_RESULT_COLUMNS = [
    "checked_at",
    "run_id",
    "asset",
    "check_name",
    "expectation",
    "status",
    "passed",
    "severity",
    "observed",
    "expected",
    "failing_rows",
    "failing_keys",
]


class Connects(Protocol):
    """`warehouse.client.Warehouse` or the Dagster warehouse resource."""

    def connect(self) -> AbstractContextManager[Client]: ...


@dataclass(frozen=True)
class Rule:
    """One expectation on a column of a frame, feeding the Dagster check named `check`.

    `between` bounds the column by `low`/`high`; `not_below` expects the column to be at least
    column `than` in the same row; `in_set` expects one of `allowed`. NULLs are not judged
    (except by `not_null`). A `unique` rule names in `bucket` the SQL its column derives from.
    """

    check: str
    expects: str  # what is expected, in words, stored as `expected`
    kind: Kind
    column: str
    severity: Severity = "ERROR"
    low: Decimal | None = None
    high: Decimal | None = None
    allowed: tuple[int | str, ...] = ()
    than: str | None = None
    bucket: str | None = None


@dataclass(frozen=True)
class Frame:
    """What to read for a set of rules: `SELECT columns FROM database.table [FINAL] WHERE
    where`, with `key` naming each row in failure samples."""

    asset: str
    database: str
    table: str
    columns: tuple[tuple[str, str], ...]  # (name, SQL expression)
    key: str
    bucket: str  # SQL spreading rows over buckets, for rules without a bucket of their own
    rules: tuple[Rule, ...]
    final: bool = False
    where: str = "1"
    optional: bool = False  # may not be built yet (a mart before dbt ran): rules are skipped
    needs: tuple[str, ...] = ()  # table columns read; a missing one fails every rule

    @property
    def source(self) -> str:
        return f"{self.database}.`{self.table}`" + (" FINAL" if self.final else "")

    def only(self, checks: Collection[str]) -> "Frame":
        """This frame with the rules of `checks` alone."""
        return replace(self, rules=tuple(rule for rule in self.rules if rule.check in checks))


@dataclass(frozen=True)
class Outcome:
    asset: str
    check: str
    expectation: str
    status: Status
    severity: Severity
    observed: str
    expected: str
    failing_rows: int = 0
    failing_keys: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass
class _Tally:
    elements: int = 0
    unexpected: int = 0
    failed_to_run: bool = False
    keys: list[str] = field(default_factory=list)


def _gx() -> Any:
    """Great Expectations, imported on first use: its import takes seconds and trips
    deprecation warnings of the standard library, neither of which belongs at our import."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations as gx
        from great_expectations.data_context.types import base  # noqa: F401
    return gx


def _expectation(gx: Any, rule: Rule, index: int) -> Any:
    kinds, meta = gx.expectations, {"rule": index}
    if rule.kind == "not_null":
        return kinds.ExpectColumnValuesToNotBeNull(column=rule.column, meta=meta)
    if rule.kind == "unique":
        return kinds.ExpectColumnValuesToBeUnique(column=rule.column, meta=meta)
    if rule.kind == "in_set":
        return kinds.ExpectColumnValuesToBeInSet(
            column=rule.column, value_set=list(rule.allowed), meta=meta
        )
    if rule.kind == "not_below":
        return kinds.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=rule.column,
            column_B=rule.than,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=meta,
        )
    return kinds.ExpectColumnValuesToBeBetween(
        column=rule.column,
        min_value=None if rule.low is None else float(rule.low),
        max_value=None if rule.high is None else float(rule.high),
        meta=meta,
    )


def _present(value: object) -> bool:
    """False for a missing key: None, NaN, or pandas' NA (which refuses to be a bool)."""
    try:
        return value is not None and bool(value == value)
    except TypeError:
        return False


def _raised(info: Mapping[str, Any]) -> bool:
    """Whether GX caught an exception evaluating an expectation (its info is flat, or keyed
    by metric)."""
    entries = [info] if "raised_exception" in info else list(info.values())
    return any(isinstance(e, Mapping) and e.get("raised_exception") for e in entries)


class _Validator:
    """One ephemeral GX context holding a suite of some of a frame's rules (numbered as in
    the frame); validates one bucket at a time into the frame's tallies."""

    def __init__(self, frame: Frame, numbered: Sequence[tuple[int, Rule]]) -> None:
        gx = _gx()
        base = gx.data_context.types.base
        context = gx.get_context(
            mode="ephemeral",
            project_config=base.DataContextConfig(
                store_backend_defaults=base.InMemoryStoreBackendDefaults(),
                analytics_enabled=False,
                progress_bars=base.ProgressBarsConfig(globally=False),
            ),
        )
        batch = (
            context.data_sources.add_pandas("warehouse")
            .add_dataframe_asset(frame.asset.replace("/", "."))
            .add_batch_definition_whole_dataframe("bucket")
        )
        suite = context.suites.add(gx.ExpectationSuite(name=frame.asset))
        for index, rule in numbered:
            suite.add_expectation(_expectation(gx, rule, index))
        self._definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=frame.asset, data=batch, suite=suite)
        )
        self._key = frame.key

    def validate(self, rows: Any, tallies: list[_Tally]) -> None:
        report = self._definition.run(
            batch_parameters={"dataframe": rows},
            result_format={
                "result_format": "SUMMARY",
                "unexpected_index_column_names": [self._key],
                "partial_unexpected_count": SAMPLE,
            },
        )
        for result in report.results:
            tally = tallies[int(result.expectation_config.meta["rule"])]
            if _raised(result.exception_info):
                tally.failed_to_run = True
                continue
            found = result.result
            tally.elements += int(found.get("element_count") or 0)
            tally.unexpected += int(found.get("unexpected_count") or 0)
            for row in found.get("partial_unexpected_index_list") or []:
                key = row.get(self._key)
                if len(tally.keys) < SAMPLE and _present(key):
                    tally.keys.append(str(key))


def _columns(frame: Frame, rules: Sequence[Rule]) -> str:
    used = {frame.key} | {c for rule in rules for c in (rule.column, rule.than) if c}
    return ", ".join(f"{sql} AS `{name}`" for name, sql in frame.columns if name in used)


def _read(
    client: Client, frame: Frame, rules: Sequence[Rule], bucket: str, part: int, parts: int
) -> Any:
    where = frame.where
    if parts > 1:
        where += f" AND cityHash64({bucket}) % {parts} = {part}"
    # Identifiers and expressions come from frame definitions, never from requests.
    query = f"SELECT {_columns(frame, rules)} FROM {frame.source} WHERE {where}"  # noqa: S608
    return client.query_df(query)


def _unreadable(client: Client, frame: Frame) -> Outcome | None:
    """Why the frame cannot be read (table or columns missing), as the outcome of every rule."""
    found = client.query(
        "SELECT name FROM system.columns WHERE database = {d:String} AND table = {t:String}",
        parameters={"d": frame.database, "t": frame.table},
    ).result_rows
    if not found:
        status: Status = "skipped" if frame.optional else "failed"
        return Outcome(frame.asset, "", "", status, "ERROR", "table not built", "")
    missing = sorted(set(frame.needs) - {row[0] for row in found})
    if missing:
        observed = "columns missing: " + ", ".join(missing)
        return Outcome(frame.asset, "", "", "failed", "ERROR", observed, "")
    return None


def _outcome(asset: str, rule: Rule, tally: _Tally) -> Outcome:
    if tally.failed_to_run:
        # Not GX's message: it may quote the values that failed.
        observed = "expectation could not be evaluated"
        return Outcome(
            asset, rule.check, rule.expects, "failed", rule.severity, observed, rule.expects
        )
    observed = f"{tally.unexpected} of {tally.elements} rows unexpected"
    return Outcome(
        asset,
        rule.check,
        rule.expects,
        "passed" if tally.unexpected == 0 else "failed",
        rule.severity,
        observed,
        rule.expects,
        failing_rows=tally.unexpected,
        failing_keys=tuple(tally.keys),
    )


@dataclass
class _Plan:
    frame: Frame
    unreadable: Outcome | None = None
    total: int = 0
    tallies: list[_Tally] = field(default_factory=list)

    def outcomes(self) -> list[Outcome]:
        rules = self.frame.rules
        if self.unreadable is not None:
            return [
                replace(self.unreadable, check=r.check, expectation=r.expects, severity=r.severity)
                for r in rules
            ]
        return [
            _outcome(self.frame.asset, rule, tally)
            for rule, tally in zip(rules, self.tallies, strict=True)
        ]


def _plan(client: Client, frame: Frame) -> _Plan:
    unreadable = _unreadable(client, frame)
    if unreadable is not None:
        return _Plan(frame, unreadable)
    query = f"SELECT count() FROM {frame.source} WHERE {frame.where}"  # noqa: S608
    total = int(client.query(query).result_rows[0][0])
    return _Plan(frame, total=total, tallies=[_Tally() for _ in frame.rules])


def _small_batches(plans: Sequence[_Plan], chunk_rows: int) -> Iterator[list[_Plan]]:
    """Frames that fit in one read, grouped so that a group holds at most `chunk_rows` rows:
    one warehouse hold per group instead of one per table."""
    batch: list[_Plan] = []
    held = 0
    for plan in plans:
        if batch and held + plan.total > chunk_rows:
            yield batch
            batch, held = [], 0
        batch.append(plan)
        held += plan.total
    if batch:
        yield batch


def _run_bucketed(warehouse: Connects, plan: _Plan, chunk_rows: int) -> None:
    frame = plan.frame
    parts = math.ceil(plan.total / chunk_rows)
    groups: dict[str, list[tuple[int, Rule]]] = {}
    for index, rule in enumerate(frame.rules):
        groups.setdefault(rule.bucket or frame.bucket, []).append((index, rule))
    for bucket, members in groups.items():
        validator = _Validator(frame, members)
        rules = [rule for _, rule in members]
        for part in range(parts):
            with warehouse.connect() as client:
                rows = _read(client, frame, rules, bucket, part, parts)
            if len(rows):
                validator.validate(rows, plan.tallies)


def run_frames(
    warehouse: Connects, frames: Sequence[Frame], *, chunk_rows: int = CHUNK_ROWS
) -> list[list[Outcome]]:
    """Validate every rule of every frame: per frame, one outcome per rule, in rule order."""
    with warehouse.connect() as client:
        plans = [_plan(client, frame) for frame in frames]
    readable = [plan for plan in plans if plan.unreadable is None and plan.total]
    for batch in _small_batches([p for p in readable if p.total <= chunk_rows], chunk_rows):
        with warehouse.connect() as client:
            read = [(p, _read(client, p.frame, p.frame.rules, p.frame.bucket, 0, 1)) for p in batch]
        for plan, rows in read:
            _Validator(plan.frame, list(enumerate(plan.frame.rules))).validate(rows, plan.tallies)
    for plan in readable:
        if plan.total > chunk_rows:
            _run_bucketed(warehouse, plan, chunk_rows)
    return [plan.outcomes() for plan in plans]


def create_check_results_table(client: Client) -> None:
    create_ops_tables(client)
    client.command(
        f"CREATE TABLE IF NOT EXISTS {OPS}.check_results ("
        "checked_at DateTime64(6, 'UTC'), run_id String, asset String, "
        "check_name LowCardinality(String), expectation String, status LowCardinality(String), "
        "passed Bool, severity LowCardinality(String), observed String, expected String, "
        "failing_rows UInt64, failing_keys Array(String)"
        ") ENGINE = MergeTree ORDER BY (asset, check_name, checked_at) "
        "TTL toDateTime(checked_at) + INTERVAL 180 DAY"
    )


def record_outcomes(
    client: Client, outcomes: Sequence[Outcome], *, run_id: str, checked_at: datetime | None = None
) -> None:
    """Append outcomes to `ops.check_results` (one row each, same `checked_at`)."""
    if not outcomes:
        return
    create_check_results_table(client)
    when = checked_at or datetime.now(UTC)
    client.insert(
        f"{OPS}.check_results",
        [
            [
                when,
                run_id,
                o.asset,
                o.check,
                o.expectation,
                o.status,
                o.passed,
                o.severity,
                o.observed,
                o.expected,
                o.failing_rows,
                list(o.failing_keys),
            ]
            for o in outcomes
        ],
        column_names=_RESULT_COLUMNS,
    )


def latest_outcomes(client: Client) -> list[Outcome]:
    """The newest outcome of every (asset, check, expectation): what a dashboard shows."""
    create_check_results_table(client)
    found = client.query(
        "SELECT asset, check_name, expectation, "  # noqa: S608 - a constant table name
        "argMax(status, checked_at), argMax(severity, checked_at), argMax(observed, checked_at), "
        "argMax(expected, checked_at), argMax(failing_rows, checked_at), "
        "argMax(failing_keys, checked_at) "
        f"FROM {OPS}.check_results GROUP BY asset, check_name, expectation "
        "ORDER BY asset, check_name, expectation"
    )
    return [
        Outcome(row[0], row[1], row[2], row[3], row[4], row[5], row[6], int(row[7]), tuple(row[8]))
        for row in found.result_rows
    ]


def iter_checks(outcomes: Sequence[Outcome]) -> Iterator[tuple[str, str, list[Outcome]]]:
    """Outcomes grouped by (asset, check), in first-seen order."""
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault((outcome.asset, outcome.check), []).append(outcome)
    for (asset, check), members in groups.items():
        yield asset, check, members
