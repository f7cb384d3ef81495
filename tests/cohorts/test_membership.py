"""Cohorts compiled to SQL and run on chDB against the hand-built population
(tests/cohorts/population.py), where each patient's fate is known."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from tests.cohorts.population import (
    INTERMEDIATE,
    POOR,
    T2D_TEST,
    World,
)
from warehouse.cohorts.characterization import Item
from warehouse.cohorts.loader import InvalidCohort, find_definition, parse_definition
from warehouse.cohorts.runner import CohortResult, materialize_cohort


@pytest.fixture(scope="module")
def client(world: World) -> Iterator[Client]:
    with world.warehouse.connect() as connected:
        yield connected


@pytest.fixture(scope="module")
def t2d(world: World, client: Client) -> CohortResult:
    return materialize_cohort(client, definition=T2D_TEST, tenant_id=world.population.tenant.id)


def _members(client: Client, tenant_id: uuid.UUID, cohort: str) -> list[tuple[Any, ...]]:
    return [
        tuple(row)
        for row in client.query(
            "SELECT patient_id, toDate(entry_at) FROM analytics.cohort_membership "
            "WHERE tenant_id = {t:UUID} AND cohort = {c:String} ORDER BY patient_id, entry_at",
            parameters={"t": str(tenant_id), "c": cohort},
        ).result_rows
    ]


def _item(result: CohortResult, section: str, item: str) -> Item:
    return next(i for i in result.characterization if i.section == section and i.item == item)


def test_members_are_exactly_the_patients_who_meet_every_rule(
    world: World, client: Client, t2d: CohortResult
) -> None:
    rows = _members(client, world.population.tenant.id, "t2d_test")
    assert {row[0] for row in rows} == world.population.ids("member")
    entries = {p.id: p.entry_date for p in world.population.of("member")}
    assert all(row[1] == entries[row[0]] for row in rows)
    assert t2d.size == 15


def test_attrition_counts_what_each_rule_removed(t2d: CohortResult) -> None:
    assert [(s.rule_type, s.rule_name) for s in t2d.attrition] == [
        ("entry", "entry: diagnosis"),
        ("inclusion", "metformin within 90 days"),
        ("inclusion", "HbA1c at least 8 within 90 days"),
        ("inclusion", "adult at entry"),
        ("exclusion", "chronic kidney disease before entry"),
    ]
    # 64 diabetics enter (the deleted patient and the hypertensives do not); metformin too
    # late (11), never (3) or 400 days after the first diagnosis (1); HbA1c 7.2 (12);
    # teenagers (11); kidney disease (11).
    assert [
        (s.patients_before, s.patients_removed, s.patients_remaining) for s in t2d.attrition
    ] == [
        (None, None, 64),
        (64, 15, 49),
        (49, 12, 37),
        (37, 11, 26),
        (26, 11, 15),
    ]


def test_the_published_tables_hold_what_the_run_returned(
    world: World, client: Client, t2d: CohortResult
) -> None:
    tenant = str(world.population.tenant.id)
    attrition = client.query(
        "SELECT rule_order, rule_name, patients_before, patients_removed, patients_remaining "
        "FROM analytics.cohort_attrition WHERE tenant_id = {t:UUID} AND cohort = 't2d_test' "
        "ORDER BY rule_order",
        parameters={"t": tenant},
    ).result_rows
    assert [row[2:] for row in attrition] == [
        (s.patients_before, s.patients_removed, s.patients_remaining) for s in t2d.attrition
    ]
    size = client.query(
        "SELECT numerator FROM analytics.cohort_characterization WHERE tenant_id = {t:UUID} "
        "AND cohort = 't2d_test' AND section = 'size' AND item = 'patients'",
        parameters={"t": tenant},
    ).result_rows
    assert size == [(15,)]


def test_outcomes_follow_each_member_for_their_window(
    world: World, client: Client, t2d: CohortResult
) -> None:
    rows = client.query(
        "SELECT patient_id, occurred, follow_up_complete FROM analytics.cohort_outcomes "
        "WHERE tenant_id = {t:UUID} AND cohort = 't2d_test' AND outcome = 'ed_visit_30d'",
        parameters={"t": str(world.population.tenant.id)},
    ).result_rows
    assert len(rows) == 15 and all(row[2] == 1 for row in rows)
    ten_days = {p.id for p in world.population.of("member") if p.spec.ed_visit_after_entry == 10}
    assert len(ten_days) == 4
    assert {row[0] for row in rows if row[1] == 1} == ten_days  # not the visit on day 35


def test_characterization_shows_large_cells_and_suppresses_small_ones(
    t2d: CohortResult,
) -> None:
    diabetes = _item(t2d, "comorbidity", "http://hl7.org/fhir/sid/icd-10-cm|E11.9")
    assert (diabetes.numerator, diabetes.denominator, diabetes.proportion) == (15, 15, 1.0)
    metformin = _item(t2d, "medication", "http://www.nlm.nih.gov/research/umls/rxnorm|861007")
    assert metformin.numerator == 15
    a1c = _item(t2d, "lab", "http://loinc.org|4548-4")
    # Members' HbA1c values are 8.0, 8.1, ... 9.4: quartiles by linear interpolation.
    assert (a1c.numerator, a1c.unit, a1c.p25, a1c.median, a1c.p75) == (15, "%", 8.35, 8.7, 9.05)
    # 12 women and 3 men: the 3 is hidden, and so is the 12 it could be derived from.
    for sex in ("female", "male"):
        cell = _item(t2d, "sex", sex)
        assert cell.numerator is None and cell.proportion is None and cell.is_suppressed
    clopidogrel = _item(t2d, "medication", "http://www.nlm.nih.gov/research/umls/rxnorm|309362")
    assert clopidogrel.numerator is None and clopidogrel.is_suppressed
    ed = _item(t2d, "outcome", "ed_visit_30d")
    assert (ed.numerator, ed.denominator, ed.is_suppressed) == (None, 15, True)
    published = [i.numerator for i in t2d.characterization] + [
        i.denominator for i in t2d.characterization
    ]
    assert not any(value is not None and 0 < value < 11 for value in published)


def test_a_genomic_rule_selects_poor_and_intermediate_metabolizers_and_tiny_cohorts_show_nothing(
    world: World, client: Client
) -> None:
    definition = find_definition("clopidogrel_cyp2c19_reduced_function")
    result = materialize_cohort(client, definition=definition, tenant_id=world.population.tenant.id)
    expected = {p.id for p in world.population.people if p.spec.cyp2c19 in (POOR, INTERMEDIATE)}
    members = _members(client, world.population.tenant.id, definition.name)
    assert {row[0] for row in members} == expected and len(expected) == 2
    assert result.size is None
    assert all(s.is_suppressed for s in result.attrition)
    assert all(s.patients_before is None and s.patients_remaining is None for s in result.attrition)
    assert all(i.numerator is None for i in result.characterization if i.section != "outcome")


def test_first_and_every_occurrence_and_the_entry_period(world: World, client: Client) -> None:
    tenant = world.population.tenant.id
    entry: dict[str, Any] = {
        "kind": "diagnosis",
        "codes": [{"system": "ICD-10-CM", "codes": ["E11*"]}],
    }
    base: dict[str, Any] = {"description": "Diabetes diagnoses.", "version": "1"}
    old_onset = world.population.of("old_onset")[0].id
    every = {**base, "name": "every_t2d", "entry": {**entry, "occurrence": "every"}}
    materialize_cohort(client, definition=every, tenant_id=tenant)
    rows = _members(client, tenant, "every_t2d")
    assert len(rows) == 65 and sum(row[0] == old_onset for row in rows) == 2

    recent = {"start": world.population.of("member")[0].entry_date.isoformat()}
    first = {"name": "first_recent", **base, "entry": {**entry, "period": recent}}
    materialize_cohort(client, definition=first, tenant_id=tenant)
    ids = {row[0] for row in _members(client, tenant, "first_recent")}
    # Onset 200 days ago (late_drug) and a first diagnosis 400 days ago are not new cases.
    assert old_onset not in ids and not ids & world.population.ids("late_drug")
    assert len(ids) == 64 - 11 - 1


def test_values_travel_as_parameters_not_sql(world: World, client: Client) -> None:
    definition = {
        "name": "quoted",
        "description": "A rule name with quotes and SQL in it.",
        "version": "1",
        "entry": {"kind": "lab", "codes": [{"system": "LOINC", "codes": ["4548-4"]}]},
        "inclusion": [
            {
                "name": "patient's value >= 8 -- '); DROP TABLE x; --",
                "kind": "lab",
                "codes": [{"system": "LOINC", "codes": ["4548-4"]}],
                "value": {"comparator": ">=", "threshold": "8.0", "unit": "%"},
            }
        ],
    }
    result = materialize_cohort(client, definition=definition, tenant_id=world.population.tenant.id)
    assert result.attrition[1].rule_name == definition["inclusion"][0]["name"]  # type: ignore[index]
    # Every HbA1c of 8 or more: members (15), late_drug, no_drug, old_onset, teenager, ckd.
    assert result.size == 15 + 11 + 3 + 1 + 11 + 11


def test_rerunning_replaces_the_previous_result(world: World, client: Client) -> None:
    tenant = world.population.tenant.id
    narrower = parse_definition(T2D_TEST.replace("min: 18", "min: 60"))
    materialize_cohort(client, definition=narrower, tenant_id=tenant)
    again = materialize_cohort(client, definition=T2D_TEST, tenant_id=tenant)
    assert len(_members(client, tenant, "t2d_test")) == 15
    counts = client.query(
        "SELECT count() FROM analytics.cohort_attrition WHERE tenant_id = {t:UUID} "
        "AND cohort = 't2d_test'",
        parameters={"t": str(tenant)},
    ).result_rows
    assert counts == [(5,)]
    leftovers = client.query(
        "SELECT count() FROM system.tables WHERE database = 'analytics' "
        "AND name LIKE '\\_cohort\\_run\\_%'"
    ).result_rows
    assert leftovers == [(0,)]
    assert again.size == 15


def test_a_bad_definition_is_refused_before_anything_runs(world: World, client: Client) -> None:
    with pytest.raises(InvalidCohort, match=r"entry\.kind"):
        materialize_cohort(
            client,
            definition="name: x\ndescription: d\nversion: 1\nentry: {kind: vitals}\n",
            tenant_id=world.population.tenant.id,
        )
