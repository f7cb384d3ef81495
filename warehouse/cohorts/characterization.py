"""What a materialized cohort looks like, as suppressed aggregate rows.

Counted around each member's first entry: size; age band, sex, race and ethnicity; the most
frequent diagnoses and medications and the most frequent (or the chosen) labs within the
characterization window, with quartiles of each patient's latest value; and outcome rates
among entries whose follow-up window the data cover. Raw counts only ever exist in this
process's memory: rows are suppressed (suppression.py) before they are written.
"""
# ruff: noqa: S608 - table names come from this package; values travel as query parameters.

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from clickhouse_connect.driver.client import Client

from warehouse.cohorts.compiler import code_set_filter
from warehouse.cohorts.definition import CohortDefinition
from warehouse.cohorts.sql import EVENTS, PATIENTS, Parameters
from warehouse.cohorts.suppression import binary_hidden, hidden_cells, is_small, shown

# The reporting bands of the population-health marts (dbt macro `age_band`).
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (18, "0-17"),
    (35, "18-34"),
    (50, "35-49"),
    (65, "50-64"),
    (75, "65-74"),
    (85, "75-84"),
)
OLDEST_BAND = "85+"
DEMOGRAPHICS = ("age_band", "sex", "race", "ethnicity")
COLUMNS = (
    "section",
    "item_order",
    "item",
    "label",
    "unit",
    "counted",
    "numerator",
    "denominator",
    "proportion",
    "p25",
    "median",
    "p75",
    "is_suppressed",
)


@dataclass(frozen=True)
class Item:
    section: str
    item: str
    label: str | None = None
    unit: str | None = None
    counted: str = "patients"
    numerator: int | None = None
    denominator: int | None = None
    proportion: float | None = None
    p25: float | None = None
    median: float | None = None
    p75: float | None = None
    is_suppressed: bool = False


def age_band(age: int) -> str:
    return next((band for limit, band in AGE_BANDS if age < limit), OLDEST_BAND)


def _first_entries(members: str) -> str:
    return (
        "SELECT patient_id, min(entry_at) AS first_entry_at, "
        "argMin(age_at_entry, entry_at) AS age, "
        f"any(sex) AS sex FROM {members} GROUP BY patient_id"
    )


def _proportion(numerator: int | None, denominator: int | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 4)


def _binary(section: str, item: str, label: str | None, n: int, total: int) -> Item:
    hide = binary_hidden(n, total)
    return Item(
        section=section,
        item=item,
        label=label,
        numerator=None if hide else n,
        denominator=shown(total),
        proportion=None if hide else _proportion(n, total),
        is_suppressed=hide,
    )


def _demographics(client: Client, members: str, tenant: str, size: int) -> list[Item]:
    rows = client.query(
        "SELECT m.age, m.sex, coalesce(pt.race, 'unknown'), coalesce(pt.ethnicity, 'unknown'), "
        f"count() FROM ({_first_entries(members)}) AS m "
        f"INNER JOIN (SELECT id, race, ethnicity FROM {PATIENTS} WHERE tenant_id = {{t:UUID}}) "
        "AS pt ON pt.id = m.patient_id GROUP BY 1, 2, 3, 4",
        parameters={"t": tenant},
    ).result_rows
    items: list[Item] = []
    for position, section in enumerate(DEMOGRAPHICS):
        counts: Counter[str] = Counter()
        for row in rows:
            value = age_band(row[0]) if section == "age_band" else str(row[position])
            counts[value] += int(row[4])
        ordered = sorted(counts.items())
        hidden = hidden_cells([n for _, n in ordered])
        for index, (value, n) in enumerate(ordered):
            items.append(
                Item(
                    section=section,
                    item=value,
                    numerator=None if index in hidden else n,
                    denominator=shown(size),
                    proportion=None if index in hidden else _proportion(n, size),
                    is_suppressed=index in hidden,
                )
            )
    return items


def _window(definition: CohortDefinition) -> str:
    window = definition.characterization.window
    offset = "dateDiff('day', toDate(m.first_entry_at), toDate(e.event_at))"
    bounds = [f"{offset} >= {window.start}"] if window.start is not None else []
    bounds += [f"{offset} <= {window.end}"] if window.end is not None else []
    return " AND ".join(bounds) or "1"


def _top_codes(
    client: Client, definition: CohortDefinition, members: str, tenant: str, kind: str, size: int
) -> list[Item]:
    rows = client.query(
        "SELECT e.code_system, e.code, any(e.display), uniqExact(m.patient_id) AS n "
        f"FROM {EVENTS} AS e INNER JOIN ({_first_entries(members)}) AS m "
        "ON m.patient_id = e.patient_id "
        "WHERE e.tenant_id = {t:UUID} AND e.event_kind = {k:String} AND e.code != '' "
        f"AND {_window(definition)} "
        "GROUP BY e.code_system, e.code ORDER BY n DESC, e.code_system, e.code LIMIT {top:UInt16}",
        parameters={"t": tenant, "k": kind, "top": definition.characterization.top},
    ).result_rows
    section = "comorbidity" if kind == "diagnosis" else "medication"
    return [
        _binary(section, f"{system}|{code}", display, int(n), size)
        for system, code, display, n in rows
    ]


def _labs(client: Client, definition: CohortDefinition, members: str, tenant: str) -> list[Item]:
    p = Parameters()
    # Named codes may be labs or vital signs; by default the most frequent labs.
    chosen = [code_set_filter(c, p, ingredients=False) for c in definition.characterization.labs]
    codes = f"({' OR '.join(chosen)})" if chosen else "e.event_kind = 'lab'"
    t = p(tenant, "UUID")
    latest = (
        "SELECT m.patient_id, e.code_system AS system, e.code AS code, e.unit AS unit, "
        "any(e.display) AS display, toFloat64(argMax(e.value_numeric, e.event_at)) AS v "
        f"FROM {EVENTS} AS e INNER JOIN ({_first_entries(members)}) AS m "
        f"ON m.patient_id = e.patient_id WHERE e.tenant_id = {t} "
        f"AND e.event_kind IN ('lab', 'observation') AND {codes} "
        f"AND e.value_numeric IS NOT NULL AND {_window(definition)} "
        "GROUP BY m.patient_id, system, code, unit"
    )
    rows = client.query(
        "SELECT system, code, unit, any(display), count() AS n, "
        "quantileExactInclusive(0.25)(v), quantileExactInclusive(0.5)(v), "
        f"quantileExactInclusive(0.75)(v) FROM ({latest}) GROUP BY system, code, unit "
        f"ORDER BY n DESC, system, code LIMIT {p(definition.characterization.top, 'UInt16')}",
        parameters=p.values,
    ).result_rows
    items = []
    for system, code, unit, display, n, p25, median, p75 in rows:
        hide = is_small(int(n))
        items.append(
            Item(
                section="lab",
                item=f"{system}|{code}",
                label=display,
                unit=unit,
                numerator=None if hide else int(n),
                p25=None if hide else round(float(p25), 2),
                median=None if hide else round(float(median), 2),
                p75=None if hide else round(float(p75), 2),
                is_suppressed=hide,
            )
        )
    return items


def _outcomes(client: Client, outcomes: str, names: Sequence[str]) -> list[Item]:
    rows = {
        name: (int(total), int(events))
        for name, total, events in client.query(
            "SELECT outcome, countIf(follow_up_complete = 1), "
            f"countIf(follow_up_complete = 1 AND occurred = 1) FROM {outcomes} GROUP BY outcome"
        ).result_rows
    }
    items = []
    for name in names:
        total, events = rows.get(name, (0, 0))
        items.append(replace(_binary("outcome", name, None, events, total), counted="entries"))
    return items


def characterize(
    client: Client,
    *,
    definition: CohortDefinition,
    tenant_id: str,
    members: str,
    outcomes: str,
) -> list[Item]:
    """Suppressed rows describing the members in table `members` (one tenant, one cohort)."""
    patients, entries = client.query(
        f"SELECT uniqExact(patient_id), count() FROM {members}"
    ).result_rows[0]
    size = int(patients)
    items = [
        Item("size", "patients", numerator=shown(size), is_suppressed=is_small(size)),
        Item(
            "size",
            "entries",
            counted="entries",
            numerator=shown(int(entries)),
            is_suppressed=is_small(int(entries)),
        ),
    ]
    if size:
        items += _demographics(client, members, tenant_id, size)
        for kind in ("diagnosis", "medication"):
            items += _top_codes(client, definition, members, tenant_id, kind, size)
        items += _labs(client, definition, members, tenant_id)
    items += _outcomes(client, outcomes, [o.name for o in definition.outcomes])
    return items


def as_rows(items: Sequence[Item]) -> list[list[Any]]:
    """Rows in `COLUMNS` order, numbered within each section."""
    position: Counter[str] = Counter()
    rows = []
    for item in items:
        position[item.section] += 1
        rows.append(
            [
                item.section,
                position[item.section],
                item.item,
                item.label,
                item.unit,
                item.counted,
                item.numerator,
                item.denominator,
                item.proportion,
                item.p25,
                item.median,
                item.p75,
                int(item.is_suppressed),
            ]
        )
    return rows
