"""Cohort definition -> ClickHouse SQL over `analytics.cohort_events` and `stg_patients`.

A run (see `runner.py`) executes, for one tenant:
1. `entries`: the entry events (first ever, or every one, inside the entry period) of
   patients who are neither deleted nor merged, with age and sex at entry;
2. `flags`: each entry with, per rule in attrition order, whether it survives that rule;
3. `attrition`: patients left after each rule (sequentially);
4. `members`: entries that survive every rule;
5. one query per outcome: whether it occurs within its window after each member's entry.

Day offsets are whole UTC days: a window `days_before: 30` admits records dated 30 days
before the entry date up to (and including) the entry date.
"""
# ruff: noqa: S608 - the SQL text is assembled from this package's table names and closed
# vocabularies (kinds, comparators, validated integers); every value a definition supplies
# travels as a query parameter.

import uuid
from dataclasses import dataclass
from datetime import date

from transactional.terminology.systems import CodeSystem
from warehouse.cohorts.definition import CodeSet, CohortDefinition, Outcome, Rule, Selector
from warehouse.cohorts.sql import EVENTS, PATIENTS, Parameters, Query, Stage

VALUE_SETS = "analytics.value_sets"
TIMESTAMP = "DateTime64(6, 'UTC')"
MEMBERSHIP_COLUMNS = (
    "tenant_id",
    "cohort",
    "version",
    "definition_hash",
    "patient_id",
    "entry_at",
    "entry_end_at",
    "entry_kind",
    "entry_code_system",
    "entry_code",
    "age_at_entry",
    "sex",
    "materialized_at",
)
OUTCOME_COLUMNS = (
    "tenant_id",
    "cohort",
    "version",
    "patient_id",
    "entry_at",
    "outcome",
    "anchor_date",
    "within_days",
    "follow_up_complete",
    "occurred",
    "first_event_at",
    "materialized_at",
)


def code_set_filter(codes: CodeSet, p: Parameters, *, ingredients: bool) -> str:
    """Records (`cohort_events AS e`) coded with one of `codes`."""
    matches = []
    if codes.exact:
        exact = p(codes.exact, "Array(String)")
        matches.append(f"e.code IN {exact}")
        if ingredients and codes.system == CodeSystem.RXNORM:
            matches.append(f"hasAny(e.ingredient_codes, {exact})")
    if codes.prefixes:
        prefixes = p(codes.prefixes, "Array(String)")
        matches.append(f"arrayExists(x -> startsWith(e.code, x), {prefixes})")
    return f"(e.code_system = {p(codes.system, 'String')} AND ({' OR '.join(matches)}))"


def _value_set(name: str, p: Parameters, *, ingredients: bool) -> str:
    """Codes of the newest version of a value set seeded by dbt (`seeds/value_sets.csv`)."""
    placeholder = p(name, "String")
    newest = (
        f"value_set = {placeholder} AND version = "
        f"(SELECT max(version) FROM {VALUE_SETS} WHERE value_set = {placeholder})"
    )
    match = (
        f"(e.code_system, e.code) IN (SELECT code_system, code FROM {VALUE_SETS} WHERE {newest})"
    )
    if ingredients:
        rxnorm = p(CodeSystem.RXNORM.value, "String")
        match += (
            f" OR (e.code_system = {rxnorm} AND hasAny(e.ingredient_codes, (SELECT groupArray(code)"
            f" FROM {VALUE_SETS} WHERE {newest} AND code_system = {rxnorm})))"
        )
    return f"({match})"


def event_filter(selector: Selector, p: Parameters) -> str:
    """The WHERE clause (over `cohort_events AS e`) of the records `selector` names."""
    kind = "lab" if selector.kind == "genomic" else selector.kind
    conditions = [f"e.event_kind = {p(kind, 'String')}"]
    ingredients = selector.kind == "medication"
    if selector.codes:
        sets = [code_set_filter(c, p, ingredients=ingredients) for c in selector.codes]
        conditions.append(f"({' OR '.join(sets)})")
    if selector.value_set:
        conditions.append(_value_set(selector.value_set, p, ingredients=ingredients))
    if selector.value is not None:
        test = selector.value
        conditions.append(f"e.unit = {p(test.unit, 'String')}")
        # The comparator comes from a closed vocabulary (definition.Comparator).
        threshold = p(str(test.threshold), "Decimal(38, 6)")
        conditions.append(f"e.value_numeric {test.comparator} {threshold}")
    if selector.answers:
        conditions.append(f"e.value_code IN {p(sorted(set(selector.answers)), 'Array(String)')}")
    if selector.encounter_class:
        classes = sorted(set(selector.encounter_class))
        conditions.append(f"e.encounter_class IN {p(classes, 'Array(String)')}")
    return " AND ".join(conditions)


_WHO_WHEN = "e.patient_id AS patient_id, e.event_at AS event_at"


def _events(selector: Selector, tenant: str, p: Parameters, columns: str) -> str:
    return (
        f"SELECT {columns} FROM {EVENTS} AS e "
        f"WHERE e.tenant_id = {tenant} AND {event_filter(selector, p)}"
    )


def _period(column: str, definition: CohortDefinition, p: Parameters) -> list[str]:
    period = definition.entry.period
    bounds = []
    if period.start is not None:
        bounds.append(f"toDate({column}) >= {p(period.start, 'Date')}")
    if period.end is not None:
        bounds.append(f"toDate({column}) <= {p(period.end, 'Date')}")
    return bounds


def entries_query(definition: CohortDefinition, tenant_id: uuid.UUID, stage: Stage) -> Query:
    p = Parameters()
    tenant = p(str(tenant_id), "UUID")
    selected = _events(
        definition.entry,
        tenant,
        p,
        "e.patient_id AS patient_id, e.event_at AS event_at, "
        "coalesce(e.event_end_at, e.event_at) AS event_end_at, e.code_system AS code_system, "
        "e.code AS code",
    )
    if definition.entry.occurrence == "first":
        period = _period("entry_at", definition, p)
        events = (
            "SELECT patient_id, min(event_at) AS entry_at, "
            "argMin(event_end_at, event_at) AS entry_end_at, "
            "argMin(code_system, event_at) AS entry_code_system, "
            f"argMin(code, event_at) AS entry_code FROM ({selected}) GROUP BY patient_id"
            + (f" HAVING {' AND '.join(period)}" if period else "")
        )
    else:
        period = _period("event_at", definition, p)
        events = (
            "SELECT patient_id, event_at AS entry_at, max(event_end_at) AS entry_end_at, "
            "min(code_system) AS entry_code_system, min(code) AS entry_code "
            f"FROM ({selected})"
            + (f" WHERE {' AND '.join(period)}" if period else "")
            + " GROUP BY patient_id, event_at"
        )
    kind = p(definition.entry.kind, "String")
    return p.query(
        f"INSERT INTO {stage.entries} "
        "SELECT q.patient_id, q.entry_at, q.entry_end_at, "
        f"{kind}, q.entry_code_system, q.entry_code, "
        "toUInt16(greatest(0, age('year', pt.birth_date, toDate(q.entry_at)))), pt.sex "
        f"FROM ({events}) AS q "
        "INNER JOIN (SELECT id, birth_date, sex "
        f"FROM {PATIENTS} WHERE tenant_id = {tenant} AND NOT is_deleted "
        "AND merged_into_id IS NULL) AS pt ON pt.id = q.patient_id"
    )


def _window(column: str, rule: Rule) -> list[str]:
    bounds = []
    if rule.window.start is not None:
        bounds.append(f"{column} >= {rule.window.start}")
    if rule.window.end is not None:
        bounds.append(f"{column} <= {rule.window.end}")
    return bounds


def _matched(rule: Rule, tenant: str, p: Parameters, stage: Stage) -> str:
    """True for the entries that have the records `rule` describes."""
    if rule.kind == "demographics":
        tests = []
        if rule.age is not None and rule.age.min is not None:
            tests.append(f"x.age_at_entry >= {rule.age.min}")
        if rule.age is not None and rule.age.max is not None:
            tests.append(f"x.age_at_entry <= {rule.age.max}")
        if rule.sex:
            tests.append(f"x.sex IN {p(sorted(set(rule.sex)), 'Array(String)')}")
        return f"({' AND '.join(tests)})"
    offset = "dateDiff('day', toDate(y.entry_at), toDate(ev.event_at))"
    window = _window(offset, rule)
    qualifying = (
        f"SELECT y.patient_id, y.entry_at FROM {stage.entries} AS y "
        f"INNER JOIN ({_events(rule, tenant, p, _WHO_WHEN)}) AS ev ON ev.patient_id = y.patient_id"
        + (f" WHERE {' AND '.join(window)}" if window else "")
        + f" GROUP BY y.patient_id, y.entry_at HAVING count() >= {rule.at_least}"
    )
    return f"((x.patient_id, x.entry_at) IN ({qualifying}))"


def flags_query(definition: CohortDefinition, tenant_id: uuid.UUID, stage: Stage) -> Query:
    """Per entry, `survives[k]` = 1 when rule k (attrition order) keeps it."""
    p = Parameters()
    tenant = p(str(tenant_id), "UUID")
    survives = []
    for kind, rule in definition.rules:
        matched = _matched(rule, tenant, p, stage)
        survives.append(matched if kind == "inclusion" else f"NOT {matched}")
    array = f"[{', '.join(f'toUInt8({s})' for s in survives)}]" if survives else "[]"
    return p.query(
        f"INSERT INTO {stage.flags} SELECT x.*, CAST({array}, 'Array(UInt8)') "
        f"FROM {stage.entries} AS x"
    )


def _survivors(rules: int) -> str:
    return " AND ".join(f"survives[{k}] = 1" for k in range(1, rules + 1)) or "1"


def attrition_query(definition: CohortDefinition, stage: Stage) -> Query:
    """Distinct patients with an entry left after the entry step and after each rule."""
    columns = ["uniqExact(patient_id)"] + [
        f"uniqExactIf(patient_id, {_survivors(k)})" for k in range(1, len(definition.rules) + 1)
    ]
    return Query(f"SELECT {', '.join(columns)} FROM {stage.flags}", {})


@dataclass(frozen=True)
class Run:
    """What every row of one materialization carries."""

    tenant_id: uuid.UUID
    definition: CohortDefinition
    materialized_at: str  # ISO timestamp, UTC


def members_query(run: Run, stage: Stage, target: str) -> Query:
    p = Parameters()
    definition = run.definition
    values = (
        f"{p(str(run.tenant_id), 'UUID')}, {p(definition.name, 'String')}, "
        f"{p(definition.version, 'String')}, {p(definition.fingerprint(), 'String')}, "
        "patient_id, entry_at, entry_end_at, entry_kind, entry_code_system, entry_code, "
        f"age_at_entry, sex, {p(run.materialized_at, TIMESTAMP)}"
    )
    return p.query(
        f"INSERT INTO {target} ({', '.join(MEMBERSHIP_COLUMNS)}) SELECT {values} "
        f"FROM {stage.flags} WHERE {_survivors(len(definition.rules))}"
    )


def _anchor(alias: str, outcome: Outcome) -> str:
    column = "entry_at" if outcome.anchor == "entry" else "entry_end_at"
    return f"toDate({alias}.{column})"


def outcome_query(run: Run, outcome: Outcome, members: str, target: str, as_of: date) -> Query:
    """Per member entry: the first matching record 1..within_days days after the anchor day,
    and whether the data reach the end of that window (`as_of`)."""
    p = Parameters()
    tenant = p(str(run.tenant_id), "UUID")
    found = (
        "SELECT y.patient_id AS patient_id, y.entry_at AS entry_at, "
        "min(ev.event_at) AS first_event_at "
        f"FROM {members} AS y INNER JOIN "
        f"({_events(outcome, tenant, p, _WHO_WHEN)})"
        " AS ev ON ev.patient_id = y.patient_id "
        f"WHERE dateDiff('day', {_anchor('y', outcome)}, toDate(ev.event_at)) "
        f"BETWEEN 1 AND {outcome.within_days} "
        "GROUP BY y.patient_id, y.entry_at"
    )
    values = (
        f"{tenant}, {p(run.definition.name, 'String')}, {p(run.definition.version, 'String')}, "
        f"m.patient_id, m.entry_at, {p(outcome.name, 'String')}, "
        f"{_anchor('m', outcome)}, {outcome.within_days}, "
        f"toUInt8(addDays({_anchor('m', outcome)}, {outcome.within_days}) "
        f"<= {p(as_of, 'Date')}), "
        "toUInt8(o.first_event_at IS NOT NULL), o.first_event_at, "
        f"{p(run.materialized_at, TIMESTAMP)}"
    )
    return p.query(
        f"INSERT INTO {target} ({', '.join(OUTCOME_COLUMNS)}) SELECT {values} "
        f"FROM {members} AS m LEFT JOIN ({found}) AS o "
        "ON o.patient_id = m.patient_id AND o.entry_at = m.entry_at "
        f"WHERE m.tenant_id = {tenant} SETTINGS join_use_nulls = 1"
    )
