"""Rules run where data is written: alerts commit with the vitals, results or prescription
that raised them, are not duplicated while open, and a worse finding supersedes them."""

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from tests.cds.ward import (
    ATORVASTATIN,
    CLOPIDOGREL_TABLET,
    INTERMEDIATE,
    NORMAL,
    POOR,
    Ward,
    measurements,
)
from tests.factories.orders import CBC, numeric
from tests.factories.scheduling import tenant_session
from transactional.alerts.lifecycle import acknowledge, override
from transactional.charting.vitals import record_vitals
from transactional.database import Database


class Interrupted(Exception):
    """Raised inside a transaction to make it roll back."""


@pytest.fixture
def ward(database: Database) -> Ward:
    return Ward(database)


def test_vitals_and_their_alert_commit_or_roll_back_together(ward: Ward) -> None:
    encounter = ward.encounter("ambulatory")

    def chart_then_fail() -> None:
        with tenant_session(database=ward.database, tenant=ward.tenant) as session:
            record_vitals(
                session=session,
                tenant_id=ward.tenant.id,
                encounter_id=encounter.id,
                measurements=measurements(
                    encounter.start_at + timedelta(minutes=5), {"systolic": 184, "diastolic": 96}
                ),
                actor=ward.actor,
            )
            assert ward.alerts() == []  # not visible outside the transaction yet
            raise Interrupted

    with pytest.raises(Interrupted):
        chart_then_fail()
    assert ward.alerts() == []
    observations = ward.vitals(encounter, minutes=10, systolic=184, diastolic=96)
    (alert,) = ward.alerts()
    assert (alert.kind, alert.severity, alert.status) == ("hypertensive_crisis", "critical", "open")
    assert (alert.rule_id, alert.rule_version) == ("vitals.hypertensive_crisis", "1.0.0")
    assert (alert.subject_type, alert.subject_id) == ("encounter", encounter.id)
    assert alert.recipient_practitioner_id == ward.practitioner.id
    assert alert.title == "Hypertensive crisis: BP 184/96 mm Hg"
    assert "systolic >= 180 mm Hg" in alert.rationale
    used = {item["name"]: item for item in alert.data["inputs"]}
    assert used["systolic"]["value"] == "184" and used["systolic"]["code"] == "8480-6"
    assert used["systolic"]["unit"] == "mm[Hg]"
    assert {used[n]["source"]["id"] for n in used} == {str(o.id) for o in observations}
    assert used["systolic"]["effective_at"] == observations[0].effective_at.isoformat()
    assert alert.suggested_actions[0]["label"].startswith("Repeat the measurement")
    assert ward.audit_actions().count("alert.raise") == 1


def test_rules_only_run_for_the_patients_and_settings_they_are_meant_for(
    database: Database,
) -> None:
    today = date.today()
    teenager = Ward(database, birth_date=today.replace(year=today.year - 18) + timedelta(days=30))
    visit = teenager.encounter("ambulatory")
    teenager.vitals(visit, minutes=5, systolic=190, diastolic=100)
    assert teenager.alerts() == []  # adult thresholds
    adult = Ward(database)
    clinic_visit = adult.encounter("ambulatory")
    adult.vitals(clinic_visit, minutes=5, systolic=88, diastolic=50, heart_rate=135)
    assert adult.alerts() == []  # NEWS2, SIRS and qSOFA are for acute care
    emergency = adult.encounter("emergency")
    adult.vitals(emergency, minutes=5, systolic=88, diastolic=50, heart_rate=135)
    assert [a.kind for a in adult.alerts()] == ["news2"]


def test_an_open_alert_is_not_duplicated_and_a_worse_finding_supersedes_it(ward: Ward) -> None:
    encounter = ward.encounter("inpatient")
    ward.vitals(encounter, minutes=10, respiratory_rate=25, heart_rate=111)  # 5: medium
    (first,) = ward.alerts("news2")
    assert (first.severity, first.data["score"]["band"]) == ("warning", "medium")
    assert first.data["score"]["partial"] is True
    ward.vitals(encounter, minutes=20, respiratory_rate=25, heart_rate=112)  # still 5
    ward.vitals(encounter, minutes=30, respiratory_rate=22, heart_rate=95)  # 3: milder
    assert [a.id for a in ward.alerts("news2")] == [first.id]
    ward.vitals(
        encounter, minutes=40, respiratory_rate=26, heart_rate=135, systolic=88, diastolic=50
    )
    old, new = ward.alerts("news2")
    assert old.id == first.id and old.status == "resolved"
    assert (
        old.reason == "Superseded by a more severe finding: NEWS2 9 (partial): high clinical risk"
    )
    assert (new.status, new.severity, new.data["score"]["total"]) == ("open", "critical", 9)
    assert ward.audit_actions().count("alert.supersede") == 1
    ward.vitals(encounter, minutes=50, respiratory_rate=25, heart_rate=111)
    assert [a.status for a in ward.alerts("news2")] == ["resolved", "open"]


def test_a_closed_alert_reopens_only_when_the_finding_recurs(ward: Ward) -> None:
    encounter = ward.encounter("emergency")
    ward.vitals(encounter, minutes=5, systolic=182, diastolic=90)
    (first,) = ward.alerts("hypertensive_crisis")
    with tenant_session(database=ward.database, tenant=ward.tenant) as session:
        acknowledge(session=session, tenant_id=ward.tenant.id, alert_id=first.id, actor=ward.actor)
    ward.vitals(encounter, minutes=10, systolic=150, diastolic=90)
    assert [a.status for a in ward.alerts("hypertensive_crisis")] == ["acknowledged"]
    ward.vitals(encounter, minutes=20, systolic=186, diastolic=92)
    closed, reopened = ward.alerts("hypertensive_crisis")
    assert reopened.status == "open" and reopened.id != closed.id
    with tenant_session(database=ward.database, tenant=ward.tenant) as session:
        override(
            session=session,
            tenant_id=ward.tenant.id,
            alert_id=reopened.id,
            reason="Known, treated; target-organ damage excluded",
            actor=ward.actor,
        )
    actions = ward.audit_actions()
    assert actions.count("alert.acknowledge") == 1 and actions.count("alert.override") == 1
    assert ward.alerts("hypertensive_crisis")[1].reason == (
        "Known, treated; target-organ damage excluded"
    )


def test_a_leukocyte_result_on_the_encounters_order_completes_sirs(ward: Ward) -> None:
    encounter = ward.encounter("emergency")
    ward.vitals(encounter, minutes=5, heart_rate=118, respiratory_rate=18)
    assert ward.alerts("sirs") == []
    order = ward.order(CBC, encounter=encounter)
    recorded = ward.results(order, [numeric("6690-2", "15.2", "10*3/uL")])
    (alert,) = ward.alerts("sirs")
    assert (alert.subject_type, alert.subject_id) == ("encounter", encounter.id)
    assert alert.data["met_count"] == 2
    used = {item["name"]: item for item in alert.data["inputs"]}
    assert used["leukocytes"]["source"] == {
        "type": "lab_result",
        "id": str(recorded.results[0].id),
    }
    assert used["leukocytes"]["value"] == "15.2"


def test_clopidogrel_for_a_poor_metabolizer_alerts_its_prescriber(ward: Ward) -> None:
    ward.phenotype(POOR)
    outcome = ward.prescribe(CLOPIDOGREL_TABLET, dose="75 mg")
    assert outcome.prescription.status == "active"  # alerted, not blocked
    (alert,) = ward.alerts("cyp2c19_clopidogrel")
    assert (alert.severity, alert.subject_type, alert.subject_id) == (
        "critical",
        "prescription",
        outcome.prescription.id,
    )
    assert alert.recipient_practitioner_id == ward.practitioner.id
    assert alert.rule_id == "pgx.cyp2c19.clopidogrel"
    assert alert.data["phenotype"]["code"] == POOR
    assert "CPIC (strong recommendation)" in alert.rationale
    ward.prescribe(ATORVASTATIN, dose="20 mg")
    assert len(ward.alerts()) == 1


@pytest.mark.parametrize(("answer", "severity"), [(INTERMEDIATE, "warning"), (NORMAL, None)])
def test_other_phenotypes(database: Database, answer: str, severity: str | None) -> None:
    ward = Ward(database)
    ward.phenotype(answer)
    ward.prescribe(CLOPIDOGREL_TABLET, dose="75 mg")
    assert [a.severity for a in ward.alerts("cyp2c19_clopidogrel")] == (
        [severity] if severity else []
    )


def test_a_new_phenotype_alerts_on_clopidogrel_already_taken(ward: Ward) -> None:
    outcome = ward.prescribe(CLOPIDOGREL_TABLET, dose="75 mg")
    assert ward.alerts() == []
    ward.phenotype(POOR)
    (alert,) = ward.alerts("cyp2c19_clopidogrel")
    assert alert.subject_id == outcome.prescription.id
    assert alert.recipient_practitioner_id == outcome.prescription.prescriber_id


def test_alerts_keep_being_raised_once_the_statement_is_prepared(ward: Ward) -> None:
    """psycopg prepares a statement on its sixth run on a connection, and PostgreSQL then
    may use a generic plan (forced here); the ON CONFLICT of raising an alert must still find
    its partial unique index."""
    encounters = [ward.encounter("emergency") for _ in range(7)]
    with tenant_session(database=ward.database, tenant=ward.tenant) as session:
        session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        for encounter in [*encounters, encounters[0]]:
            record_vitals(
                session=session,
                tenant_id=ward.tenant.id,
                encounter_id=encounter.id,
                measurements=measurements(
                    encounter.start_at + timedelta(minutes=5), {"systolic": 190, "diastolic": 95}
                ),
                actor=ward.actor,
            )
    alerts = ward.alerts("hypertensive_crisis")
    assert sorted(a.subject_id for a in alerts) == sorted(e.id for e in encounters)
