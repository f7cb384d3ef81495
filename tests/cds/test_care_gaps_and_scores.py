"""Care-gap reminders synced from the marts' gap list, and risk scores, as patient-view cards."""

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.cds.test_cds_hooks_api import Hooks, assert_cards
from tests.cds.ward import Ward
from tests.factories.patients import make_patient
from tests.factories.scheduling import tenant_session
from transactional.alerts.lifecycle import acknowledge
from transactional.audit.trail import SYSTEM
from transactional.cds.care_gaps import (
    CareGap,
    ReminderFileError,
    SyncReport,
    load_reminders,
    reminder_book,
    sync_care_gaps,
)
from transactional.database import Database
from transactional.risk.services import NewScore, record_scores

PERIOD = (date(2025, 11, 23), date(2026, 11, 22))


def gap(patient_id: uuid.UUID, measure: str = "diabetes_hba1c_testing") -> CareGap:
    return CareGap(
        patient_id=patient_id,
        measure_id=measure,
        measure_version="2026.1",
        period_start=PERIOD[0],
        period_end=PERIOD[1],
        description="No HbA1c result in the last 12 months",
        evidence={"evidence_date": None},
    )


def sync(ward: Ward, gaps: list[CareGap], *, now: datetime | None = None) -> SyncReport:
    with tenant_session(database=ward.database, tenant=ward.tenant) as session:
        return sync_care_gaps(
            session=session, tenant_id=ward.tenant.id, gaps=gaps, actor=SYSTEM, now=now
        )


@pytest.fixture
def ward(database: Database) -> Ward:
    return Ward(database)


def test_each_gap_raises_one_reminder_and_a_closed_gap_resolves_it(ward: Ward) -> None:
    other = make_patient(database=ward.database, tenant=ward.tenant)
    gaps = [gap(ward.patient.id), gap(ward.patient.id, "statin_therapy"), gap(other.id)]

    first = sync(ward, gaps)
    again = sync(ward, gaps)

    assert (first.raised, first.kept, first.resolved) == (3, 0, 0)
    assert (again.raised, again.kept, again.resolved) == (0, 3, 0)
    (reminder,) = ward.alerts("care_gap_diabetes_hba1c_testing")
    assert reminder.status == "open" and reminder.severity == "info"
    assert reminder.title == "Care gap: HbA1c test due"
    assert reminder.rule_id == "population_health.care_gaps" and reminder.rule_version
    assert reminder.data["period_end"] == "2026-11-22"
    assert reminder.suggested_actions == [{"label": "Order an HbA1c (LOINC 4548-4)"}]
    assert ward.audit_actions().count("alert.raise") == 2

    closed = sync(ward, [gap(other.id)])  # the patient's HbA1c arrived; statin prescribed

    assert (closed.raised, closed.kept, closed.resolved) == (0, 1, 2)
    assert {a.status for a in ward.alerts()} == {"resolved"}
    assert "no longer lists this patient" in str(ward.alerts()[0].reason)
    assert ward.audit_actions().count("alert.resolve") == 2


def test_an_acknowledged_reminder_is_not_raised_again_until_the_snooze_ends(ward: Ward) -> None:
    sync(ward, [gap(ward.patient.id)])
    (reminder,) = ward.alerts()
    with tenant_session(database=ward.database, tenant=ward.tenant) as session:
        acknowledge(
            session=session, tenant_id=ward.tenant.id, alert_id=reminder.id, actor=ward.actor
        )

    soon = sync(ward, [gap(ward.patient.id)])
    later = sync(
        ward,
        [gap(ward.patient.id)],
        now=datetime.now(UTC) + timedelta(days=reminder_book().snooze_days + 1),
    )

    assert (soon.raised, soon.snoozed) == (0, 1)
    assert (later.raised, later.snoozed) == (1, 0)
    assert [a.status for a in ward.alerts()] == ["acknowledged", "open"]


def test_measures_the_reminder_file_does_not_name_are_reported_not_shown(ward: Ward) -> None:
    report = sync(ward, [gap(ward.patient.id, "colorectal_screening")])
    assert report.unknown_measures == {"colorectal_screening"} and report.raised == 0
    assert ward.alerts() == []


def test_a_bad_reminder_file_is_refused_with_the_field(tmp_path: Path) -> None:
    path = tmp_path / "care_gaps.yaml"
    path.write_text(
        "id: x\nversion: '1'\nsnooze_days: 30\n"
        "measures:\n  m:\n    title: T\n    severity: loud\n    rationale: R\n",
        encoding="utf-8",
    )
    with pytest.raises(ReminderFileError, match=r"care_gaps.yaml: measures\.m\.severity"):
        load_reminders(path)


def _score(ward: Ward, model: str, value: float, tier: str) -> None:
    with tenant_session(database=ward.database, tenant=ward.tenant) as session:
        record_scores(
            session=session,
            tenant_id=ward.tenant.id,
            scores=[
                NewScore(
                    patient_id=ward.patient.id,
                    model=model,
                    model_version="3",
                    score=value,
                    tier=tier,
                    factors=[{"name": "prior_admissions_365d", "value": 2, "contribution": 0.4}],
                    index_date=date(2026, 11, 22),
                    computed_at=datetime.now(UTC),
                    missing_inputs=["hba1c"],
                )
            ],
            actor=SYSTEM,
        )


@pytest.fixture
def hooks(client: TestClient, database: Database) -> Hooks:
    return Hooks(client, database)


def _cards(hooks: Hooks) -> list[dict[str, Any]]:
    response = hooks.patient_view()
    assert response.status_code == 200
    return assert_cards(response.json())


def test_patient_view_shows_high_and_medium_scores_and_care_gaps(hooks: Hooks) -> None:
    ward = hooks.ward
    _score(ward, "readmission_30d", 0.05, "low")
    _score(ward, "readmission_30d", 0.342, "high")  # newer: the current one
    _score(ward, "incident_t2d_1y", 0.03, "medium")
    sync(ward, [gap(ward.patient.id)])

    by_source = {c["source"]["label"]: c for c in _cards(hooks)}

    readmission = by_source["Risk model readmission_30d v3"]
    assert readmission["indicator"] == "warning"
    assert readmission["summary"] == (
        "High risk: All-cause readmission within 30 days of discharge 34.2%"
    )
    assert "prior_admissions_365d: 2" in readmission["detail"]
    assert "hba1c" in readmission["detail"]  # the input the record lacked is named
    assert by_source["Risk model incident_t2d_1y v3"]["indicator"] == "info"
    reminder = by_source["Care gaps"]
    assert reminder["summary"] == "Care gap: HbA1c test due"
    assert reminder["extension"]["emr.alert"]["id"] == str(ward.alerts()[0].id)


def test_a_low_score_shows_no_card(hooks: Hooks) -> None:
    _score(hooks.ward, "readmission_30d", 0.02, "low")
    assert _cards(hooks) == []
