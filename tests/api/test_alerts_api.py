from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.factories.identity import bearer, make_tenant, make_user
from tests.factories.orders import POTASSIUM, SODIUM, linked_practitioner, numeric, resulted_order
from tests.factories.patients import make_patient
from tests.factories.scheduling import make_practitioner, tenant_session
from transactional.database import Database
from transactional.identity.models import User
from transactional.identity.roles import Role
from transactional.orders.results import RecordedResults


class Practice:
    def __init__(self, client: TestClient, database: Database) -> None:
        self.client, self.database = client, database
        self.tenant = make_tenant(database=database)
        self.doctor_user = make_user(database=database, tenant=self.tenant, role=Role.PHYSICIAN)
        self.doctor = bearer(client, tenant=self.tenant, user=self.doctor_user)
        self.practitioner = linked_practitioner(
            database=database, tenant=self.tenant, user=self.doctor_user
        )
        self.patient = make_patient(database=database, tenant=self.tenant)

    def sign_in(self, role: Role) -> tuple[User, dict[str, str]]:
        user = make_user(database=self.database, tenant=self.tenant, role=role)
        return user, bearer(self.client, tenant=self.tenant, user=user)

    def critical_potassium(self, value: str = "7.2", **overrides: Any) -> RecordedResults:
        fields: dict[str, Any] = {
            "patient": self.patient,
            "practitioner": self.practitioner,
        } | overrides
        return resulted_order(
            database=self.database,
            tenant=self.tenant,
            entries=[numeric(POTASSIUM, value, "mmol/L"), numeric(SODIUM, "139", "mmol/L")],
            **fields,
        )

    def alert_rows(self) -> list[Any]:
        with tenant_session(database=self.database, tenant=self.tenant) as session:
            return list(
                session.execute(
                    text("SELECT id, status, acted_by, reason FROM clinical_alerts ORDER BY id")
                )
            )


@pytest.fixture
def practice(client: TestClient, database: Database) -> Practice:
    return Practice(client, database)


def test_the_inbox_shows_the_open_alerts_addressed_to_the_signed_in_clinician(
    practice: Practice,
) -> None:
    recorded = practice.critical_potassium()
    colleague = make_practitioner(database=practice.database, tenant=practice.tenant)
    practice.critical_potassium(practitioner=colleague)
    inbox = practice.client.get("/api/v1/alerts?status=open", headers=practice.doctor)
    assert inbox.status_code == 200
    (alert,) = inbox.json()
    assert alert["subject"]["id"] == str(recorded.results[0].id)
    assert alert["patient_id"] == str(practice.patient.id)
    assert alert["rule_id"] == "laboratory.critical_limits" and alert["rule_version"]
    _, nurse = practice.sign_in(Role.NURSE)  # not linked to a practitioner: an empty inbox
    assert practice.client.get("/api/v1/alerts", headers=nurse).json() == []
    _, desk = practice.sign_in(Role.RECEPTIONIST)
    assert practice.client.get("/api/v1/alerts", headers=desk).status_code == 403
    assert practice.client.get("/api/v1/alerts?status=snoozed", headers=nurse).status_code == 422


def test_a_patients_alerts_are_listed_by_status(practice: Practice) -> None:
    first = practice.critical_potassium("7.5")
    practice.critical_potassium("1.9")
    url = f"/api/v1/patients/{practice.patient.id}/alerts"
    listed = practice.client.get(url, headers=practice.doctor).json()
    assert len(listed) == 2 and {a["status"] for a in listed} == {"open"}
    alert_id = first.alerts[first.results[0].id].id
    practice.client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=practice.doctor)
    closed = practice.client.get(f"{url}?status=acknowledged", headers=practice.doctor).json()
    assert [a["id"] for a in closed] == [str(alert_id)]
    other_patient = make_patient(database=practice.database, tenant=practice.tenant)
    assert (
        practice.client.get(
            f"/api/v1/patients/{other_patient.id}/alerts", headers=practice.doctor
        ).json()
        == []
    )


def test_acknowledging_twice_or_overriding_a_closed_alert_is_a_conflict(
    practice: Practice,
) -> None:
    recorded = practice.critical_potassium()
    alert_id = recorded.alerts[recorded.results[0].id].id
    nurse_user, nurse = practice.sign_in(Role.NURSE)
    first = practice.client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=nurse)
    assert first.status_code == 200
    assert first.json()["acted_by"] == str(nurse_user.id)
    before = practice.alert_rows()
    again = practice.client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=practice.doctor)
    assert again.status_code == 409 and "already acknowledged" in again.json()["detail"]
    overridden = practice.client.post(
        f"/api/v1/alerts/{alert_id}/override", json={"reason": "x"}, headers=practice.doctor
    )
    assert overridden.status_code == 409
    assert practice.alert_rows() == before


def test_an_override_needs_a_reason(practice: Practice) -> None:
    recorded = practice.critical_potassium()
    url = f"/api/v1/alerts/{recorded.alerts[recorded.results[0].id].id}/override"
    before = practice.alert_rows()
    for body in (None, {}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}):
        response = practice.client.post(url, json=body, headers=practice.doctor)
        assert response.status_code == 422, body
    assert practice.alert_rows() == before
    done = practice.client.post(
        url,
        json={"reason": "Hemolysed sample; repeat drawn and normal"},
        headers=practice.doctor,
    ).json()
    assert (done["status"], done["reason"]) == (
        "overridden",
        "Hemolysed sample; repeat drawn and normal",
    )
    assert done["acted_by"] == str(practice.doctor_user.id) and done["acted_at"]
    with tenant_session(database=practice.database, tenant=practice.tenant) as session:
        audited = session.execute(
            text("SELECT patient_id, actor_user_id FROM audit_events WHERE action = :a"),
            {"a": "alert.override"},
        ).one()
    assert tuple(audited) == (practice.patient.id, practice.doctor_user.id)


def test_only_clinicians_who_may_acknowledge_results_act_on_alerts(practice: Practice) -> None:
    recorded = practice.critical_potassium()
    alert_id = recorded.alerts[recorded.results[0].id].id
    before = practice.alert_rows()
    for role in (Role.LAB_TECH, Role.RECEPTIONIST, Role.PHARMACIST):
        _, headers = practice.sign_in(role)
        response = practice.client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=headers)
        assert response.status_code == 403, role
    assert practice.alert_rows() == before


def test_unknown_alerts_are_not_found(practice: Practice, database: Database) -> None:
    other = make_tenant(database=database)
    stranger = bearer(
        practice.client,
        tenant=other,
        user=make_user(database=database, tenant=other, role=Role.PHYSICIAN),
    )
    recorded = practice.critical_potassium()
    alert_id = recorded.alerts[recorded.results[0].id].id
    for headers, path in (
        (practice.doctor, "/api/v1/alerts/00000000-0000-0000-0000-000000000000/acknowledge"),
        (stranger, f"/api/v1/alerts/{alert_id}/acknowledge"),
    ):
        assert practice.client.post(path, headers=headers).status_code == 404
    listed = practice.client.get(f"/api/v1/patients/{practice.patient.id}/alerts", headers=stranger)
    assert listed.status_code == 404
    assert practice.alert_rows()[0].status == "open"
