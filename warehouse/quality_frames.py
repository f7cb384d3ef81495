"""Which frames the quality checks read: raw tables from the relational model, marts by name.

A raw table's checks follow from its PostgreSQL definition: `id` and `tenant_id` present,
`id` unique (a `FINAL` read collapses versions of one `(tenant_id, id)`, so a repeated `id`
means one row under two tenants), every UNIQUE constraint still unique (compared as a hash, so
business keys such as MRNs never leave ClickHouse), and every foreign key to another
replicated table resolving to a live row; numeric results within plausible limits where
`Limits` are given. ClickHouse stores a missing UUID of a non-nullable column as the nil UUID:
frames read it back as NULL so that "not null" means what it says.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal

from clickhouse_connect.driver.client import Client
from sqlalchemy import ForeignKeyConstraint, Index, Table, UniqueConstraint

from warehouse.quality import NIL_UUID, Frame, Rule, Severity
from warehouse.raw import DATABASE
from warehouse.runs import OPS

KEYS_NOT_NULL = "keys_not_null"
KEYS_UNIQUE = "keys_unique"
REFERENCES_RESOLVE = "references_resolve"
VALUES_IN_RANGE = "values_in_range"
ROW_COUNT = "row_count_matches_postgres"
RATES_IN_UNIT_INTERVAL = "rates_within_0_1"
COUNTS_NOT_NEGATIVE = "counts_not_negative"

_LIVE = "_is_deleted = 0"


def _present(column: str) -> str:
    return f"nullIf(toString(`{column}`), '{NIL_UUID}')"


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f"`{c}`" for c in columns)


def _foreign_keys(table: Table, captured: Collection[str]) -> list[ForeignKeyConstraint]:
    keys = [fk for fk in table.foreign_key_constraints if fk.referred_table.name in captured]
    return sorted(keys, key=lambda fk: tuple(fk.column_keys))


def _reference(table: Table, fk: ForeignKeyConstraint) -> tuple[str, str]:
    """(SQL flag, description): NULL when any referencing column is NULL (as
    in PostgreSQL, MATCH SIMPLE), else whether a live parent row has the key."""
    child = list(fk.column_keys)
    parent = [element.column.name for element in fk.elements]
    nullable = [c for c in child if table.columns[c].nullable]
    probe = ", ".join(f"assumeNotNull(`{c}`)" if c in nullable else f"`{c}`" for c in child)
    probe = probe if len(child) == 1 else f"({probe})"
    target = fk.referred_table.name
    found = f"{probe} IN (SELECT {_names(parent)} FROM {DATABASE}.`{target}` FINAL WHERE {_LIVE})"  # noqa: S608 - metadata names
    if nullable:
        found = f"if({' OR '.join(f'isNull(`{c}`)' for c in nullable)}, NULL, {found})"
    description = f"({', '.join(child)}) -> {target} ({', '.join(parent)}) exists"
    return found, description


def _unique_keys(table: Table) -> list[tuple[str, ...]]:
    """UNIQUE constraints and unconditional unique indexes, less those containing `id`
    (implied by `id` being unique)."""
    keys: set[tuple[str, ...]] = set()
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            keys.add(tuple(c.name for c in constraint.columns))
    for index in table.indexes:
        conditional = index.dialect_options["postgresql"].get("where") is not None
        if isinstance(index, Index) and index.unique and not conditional:
            keys.add(tuple(c.name for c in index.columns))
    return sorted(k for k in keys if "id" not in k)


@dataclass(frozen=True)
class Limit:
    code: str
    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class Limits:
    """Plausible values of a table's numeric `column`, by the row's `by` code (a LOINC code
    for observations and lab results). Rows of other codes, or whose `status` is one of
    `ignored`, are not judged. ClickHouse looks each row's limits up; GX compares."""

    label: str
    limits: tuple[Limit, ...]
    column: str = "value"
    by: str = "code"
    ignored: tuple[str, ...] = ("entered_in_error",)
    severity: Severity = "WARN"


def _literal(text: str) -> str:
    if "'" in text or "\\" in text:
        raise ValueError(f"unexpected character in {text!r}")
    return f"'{text}'"


def _limit_columns(limits: Limits) -> list[tuple[str, str]]:
    codes = "[" + ", ".join(_literal(limit.code) for limit in limits.limits) + "]"
    applies = f"has({codes}, `{limits.by}`)"
    if limits.ignored:
        ignored = ", ".join(_literal(status) for status in limits.ignored)
        applies += f" AND `status` NOT IN ({ignored})"
    columns = [("value_checked", f"toFloat64(`{limits.column}`)")]
    for name, bound in (("limit_low", "low"), ("limit_high", "high")):
        values = ", ".join(f"{float(getattr(limit, bound))!r}" for limit in limits.limits)
        looked_up = f"arrayElement([{values}], indexOf({codes}, `{limits.by}`))"
        columns.append((name, f"if({applies}, {looked_up}, NULL)"))
    return columns


def _limit_rules(limits: Limits) -> list[Rule]:
    scope = f"the limit for its {limits.by} ({limits.label}, {len(limits.limits)} codes)"
    return [
        Rule(
            VALUES_IN_RANGE,
            f"{limits.column} at least {scope}",
            "not_below",
            "value_checked",
            severity=limits.severity,
            than="limit_low",
        ),
        Rule(
            VALUES_IN_RANGE,
            f"{limits.column} at most {scope}",
            "not_below",
            "limit_high",
            severity=limits.severity,
            than="value_checked",
        ),
    ]


def raw_frame(table: Table, *, captured: Collection[str], limits: Limits | None = None) -> Frame:
    """The frame checking one raw table: keys, unique keys, references and `limits`."""
    columns: list[tuple[str, str]] = [("id", _present("id"))]
    rules = [Rule(KEYS_NOT_NULL, "id is not null", "not_null", "id")]
    if "tenant_id" in table.columns:
        columns.append(("tenant_id", _present("tenant_id")))
        rules.append(Rule(KEYS_NOT_NULL, "tenant_id is not null", "not_null", "tenant_id"))
    rules.append(Rule(KEYS_UNIQUE, "id is unique", "unique", "id", bucket="id"))
    for number, key in enumerate(_unique_keys(table)):
        name = f"key_hash_{number}"
        columns.append((name, f"cityHash64({_names(key)})"))
        expects = f"({', '.join(key)}) is unique"
        rules.append(Rule(KEYS_UNIQUE, expects, "unique", name, bucket=_names(key)))
    for number, fk in enumerate(_foreign_keys(table, captured)):
        name = f"references_{number}"
        flag, description = _reference(table, fk)
        columns.append((name, flag))
        rules.append(Rule(REFERENCES_RESOLVE, description, "in_set", name, allowed=(1,)))
    if limits is not None:
        columns += _limit_columns(limits)
        rules += _limit_rules(limits)
    return Frame(
        f"raw/{table.name}",
        DATABASE,
        table.name,
        tuple(columns),
        key="id",
        bucket="id",
        rules=tuple(rules),
        final=True,
        where=_LIVE,
    )


@dataclass(frozen=True)
class MartExpectations:
    """What a mart promises: `key` identifies a row, `not_null` columns are always set, `rates`
    lie in [0, 1] and `counts` are never negative (NULL, e.g. a suppressed cell, passes)."""

    name: str
    key: tuple[str, ...]
    not_null: tuple[str, ...] = ()
    rates: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()


def mart_frame(mart: MartExpectations, *, database: str) -> Frame:
    """One frame per mart; it is skipped while the mart is not built. Key values are ids and
    codes (the failing-key sample shows them as a tuple); NULL counts as a value in the key."""
    key = f"toString(tuple({_names(mart.key)}))"
    columns: list[tuple[str, str]] = [("row_key", key)]
    expects = f"({', '.join(mart.key)}) is unique"
    rules = [Rule(KEYS_UNIQUE, expects, "unique", "row_key", bucket=key)]
    for column in mart.not_null:
        columns.append((f"present_{column}", _present(column)))
        rules.append(Rule(KEYS_NOT_NULL, f"{column} is not null", "not_null", f"present_{column}"))
    for column in mart.rates:
        columns.append((column, f"toFloat64(`{column}`)"))
        rules.append(
            Rule(
                RATES_IN_UNIT_INTERVAL,
                f"{column} between 0 and 1",
                "between",
                column,
                low=Decimal(0),
                high=Decimal(1),
            )
        )
    for column in mart.counts:
        columns.append((column, f"toFloat64(`{column}`)"))
        rules.append(Rule(COUNTS_NOT_NEGATIVE, f"{column} >= 0", "between", column, low=Decimal(0)))
    needs = tuple(dict.fromkeys((*mart.key, *mart.not_null, *mart.rates, *mart.counts)))
    return Frame(
        mart.name,
        database,
        mart.name,
        tuple(columns),
        key="row_key",
        bucket=key,
        rules=tuple(rules),
        optional=True,
        needs=needs,
    )


def warehouse_row_counts(client: Client, tables: Sequence[str]) -> dict[str, int]:
    """Live rows per raw table (newest version per key, deletions dropped)."""
    counts = {}
    for name in tables:
        query = f"SELECT count() FROM {DATABASE}.`{name}` FINAL WHERE {_LIVE}"  # noqa: S608
        counts[name] = int(client.query(query).result_rows[0][0])
    return counts


def replicated_until(client: Client) -> int | None:
    """The snapshot xmin of this warehouse's newest replication pass: changes at or above it
    may not be here yet."""
    if not client.command(f"EXISTS TABLE {OPS}.destination"):
        return None
    found = client.query(
        f"SELECT max(r.until), count() FROM {OPS}.replication_runs AS r "  # noqa: S608
        f"WHERE r.destination IN (SELECT id FROM {OPS}.destination)"
    ).result_rows
    return int(found[0][0]) if found and found[0][1] else None
