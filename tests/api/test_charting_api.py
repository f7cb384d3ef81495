from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.factories.identity import bearer, make_tenant, make_user
from tests.factories.patients import make_patient
from tests.factories.scheduling import make_location, make_practitioner
from transactional.database import Database
from transactional.identity.roles import Role
from transactional.tenancy import bind_tenant

LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"


def vital(code: str, value: str, unit: str) -> dict[str, Any]:
    return {"code": {"system": LOINC, "code": code}, "value": value, "unit": unit}


class Clinic:
    def __init__(self, client: TestClient, database: Database) -> None:
        self.client, self.database = client, database
        self.tenant = make_tenant(database=database)
        self.physician = bearer(
            client,
            tenant=self.tenant,
            user=make_user(database=database, tenant=self.tenant, role=Role.PHYSICIAN),
        )
        self.nurse = bearer(
            client,
            tenant=self.tenant,
            user=make_user(database=database, tenant=self.tenant, role=Role.NURSE),
        )
        self.practitioner = make_practitioner(database=database, tenant=self.tenant)
        self.location = make_location(database=database, tenant=self.tenant)
        self.patient = make_patient(
            database=database, tenant=self.tenant, birth_date=date(1960, 4, 2)
        )

    def encounter(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "patient_id": str(self.patient.id),
            "practitioner_id": str(self.practitioner.id),
            "location_id": str(self.location.id),
        } | overrides
        response = self.client.post("/api/v1/encounters", json=body, headers=self.physician)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def count(self, table: str) -> int:
        with self.database.transaction() as session:
            bind_tenant(session, self.tenant.id)
            return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture
def clinic(client: TestClient, database: Database) -> Clinic:
    return Clinic(client, database)


def test_vitals_are_stored_in_canonical_units_with_bmi_derived(clinic: Clinic) -> None:
    encounter = clinic.encounter()
    response = clinic.client.post(
        f"/api/v1/encounters/{encounter['id']}/vitals",
        json={
            "observations": [
                vital("8480-6", "128", "mm[Hg]"),
                vital("8462-4", "82", "mm[Hg]"),
                vital("8867-4", "72", "/min"),
                vital("8310-5", "98.6", "[degF]"),
                vital("29463-7", "176", "[lb_av]"),
                vital("8302-2", "70", "[in_i]"),
            ]
        },
        headers=clinic.nurse,
    )
    assert response.status_code == 201, response.text
    by_code = {o["code"]["code"]: o for o in response.json()}
    assert (Decimal(by_code["8310-5"]["value"]), by_code["8310-5"]["unit"]) == (
        Decimal("37.0000"),
        "Cel",
    )
    assert by_code["29463-7"]["unit"] == "kg" and Decimal(by_code["29463-7"]["value"]) == Decimal(
        "79.8323"
    )
    assert Decimal(by_code["8302-2"]["value"]) == Decimal("177.8000")
    bmi = by_code["39156-5"]
    assert bmi["is_derived"] and Decimal(bmi["value"]) == Decimal("25.3") and bmi["unit"] == "kg/m2"
    assert by_code["8480-6"]["code"]["display"]
    chart = clinic.client.get(
        f"/api/v1/encounters/{encounter['id']}", headers=clinic.physician
    ).json()
    assert len(chart["vitals"]) == 7


@pytest.mark.parametrize(
    ("observations", "message"),
    [
        (
            [vital("8480-6", "400", "mm[Hg]"), vital("8462-4", "80", "mm[Hg]")],
            "outside the physiological range",
        ),
        ([vital("8480-6", "120", "mm[Hg]"), vital("8462-4", "130", "mm[Hg]")], "below systolic"),
        ([vital("8480-6", "120", "mm[Hg]")], "both systolic and diastolic"),
        ([vital("8867-4", "5", "/min")], "heart rate"),
        ([vital("59408-5", "101", "%")], "oxygen saturation"),
        ([vital("8310-5", "50", "Cel")], "body temperature"),
        ([vital("29463-7", "1600", "[lb_av]")], "body weight"),
        ([vital("39156-5", "24", "kg/m2")], "derived"),
        ([vital("4548-4", "7.1", "%")], "not a vital sign"),
        ([vital("9999-9", "1", "%")], "unknown LOINC"),
        ([vital("29463-7", "70", "furlongs")], "unit"),
        ([vital("29463-7", "70", "mg/dL")], "no conversion"),
        (
            [{"code": {"system": SNOMED, "code": "271649006"}, "value": "120", "unit": "mm[Hg]"}],
            "not accepted",
        ),
    ],
)
def test_implausible_or_unknown_vitals_are_rejected_whole(
    clinic: Clinic, observations: list[dict[str, Any]], message: str
) -> None:
    encounter = clinic.encounter()
    good = (
        vital("8867-4", "70", "/min")
        if observations[0]["code"]["code"] != "8867-4"
        else vital("9279-1", "14", "/min")
    )
    response = clinic.client.post(
        f"/api/v1/encounters/{encounter['id']}/vitals",
        json={"observations": [good, *observations]},
        headers=clinic.nurse,
    )
    assert response.status_code == 422, response.text
    assert message.lower() in response.json()["detail"].lower()
    assert clinic.count("observations") == 0


def test_soap_note_sign_off_and_amendment(clinic: Clinic, owner_engine: Engine) -> None:
    encounter = clinic.encounter()
    created = clinic.client.post(
        f"/api/v1/encounters/{encounter['id']}/notes",
        json={"subjective": "Cough for 3 days", "assessment": "Viral URI"},
        headers=clinic.physician,
    )
    assert created.status_code == 201
    note_id = created.json()["note_id"]
    edited = clinic.client.patch(
        f"/api/v1/notes/{note_id}", json={"plan": "Fluids, rest"}, headers=clinic.physician
    ).json()
    assert (edited["current"]["subjective"], edited["current"]["plan"]) == (
        "Cough for 3 days",
        "Fluids, rest",
    )
    assert (
        clinic.client.post(f"/api/v1/notes/{note_id}/sign", headers=clinic.nurse).status_code == 403
    )
    signed = clinic.client.post(f"/api/v1/notes/{note_id}/sign", headers=clinic.physician).json()
    assert signed["current"]["status"] == "signed" and signed["current"]["signed_at"]

    assert (
        clinic.client.patch(
            f"/api/v1/notes/{note_id}", json={"plan": "changed"}, headers=clinic.physician
        ).status_code
        == 409
    )
    assert (
        clinic.client.post(f"/api/v1/notes/{note_id}/sign", headers=clinic.physician).status_code
        == 409
    )
    no_reason = clinic.client.post(
        f"/api/v1/notes/{note_id}/amendments", json={"plan": "x"}, headers=clinic.physician
    )
    assert no_reason.status_code == 422
    amended = clinic.client.post(
        f"/api/v1/notes/{note_id}/amendments",
        json={
            "plan": "Fluids, rest, return if fever > 3 days",
            "reason": "Added return precautions",
        },
        headers=clinic.physician,
    ).json()
    assert [v["version"] for v in amended["versions"]] == [1, 2]
    assert amended["versions"][0]["plan"] == "Fluids, rest"
    assert (amended["current"]["status"], amended["current"]["subjective"]) == (
        "draft",
        "Cough for 3 days",
    )
    clinic.client.post(f"/api/v1/notes/{note_id}/sign", headers=clinic.physician)
    final = clinic.client.get(f"/api/v1/notes/{note_id}", headers=clinic.physician).json()
    assert final["current"]["version"] == 2 and final["current"]["status"] == "signed"
    assert final["current"]["amendment_reason"] == "Added return precautions"

    version_one = final["versions"][0]["id"]
    with clinic.database.transaction() as session:
        bind_tenant(session, clinic.tenant.id)
        with pytest.raises(DBAPIError, match="immutable"):
            session.execute(
                text("UPDATE clinical_notes SET plan = 'tampered' WHERE id = :id"),
                {"id": version_one},
            )
        session.rollback()
    with pytest.raises(DBAPIError, match="immutable"), owner_engine.begin() as connection:
        connection.execute(text("DELETE FROM clinical_notes WHERE id = :id"), {"id": version_one})


def test_only_the_author_edits_or_signs_a_draft(clinic: Clinic) -> None:
    encounter = clinic.encounter()
    note_id = clinic.client.post(
        f"/api/v1/encounters/{encounter['id']}/notes",
        json={"subjective": "x"},
        headers=clinic.nurse,
    ).json()["note_id"]
    assert (
        clinic.client.patch(
            f"/api/v1/notes/{note_id}", json={"plan": "y"}, headers=clinic.physician
        ).status_code
        == 409
    )
    assert (
        clinic.client.post(f"/api/v1/notes/{note_id}/sign", headers=clinic.physician).status_code
        == 409
    )


def test_diagnoses_are_coded_and_validated(clinic: Clinic) -> None:
    encounter = clinic.encounter()
    url = f"/api/v1/encounters/{encounter['id']}/diagnoses"
    icd = clinic.client.post(
        url,
        json={"code": {"system": ICD10, "code": "E119"}, "rank": 1, "onset_date": "2019-03-01"},
        headers=clinic.physician,
    )
    assert icd.status_code == 201, icd.text
    assert icd.json()["code"] == {
        "system": ICD10,
        "code": "E11.9",
        "display": "Type 2 diabetes mellitus without complications",
    }
    snomed = clinic.client.post(
        url, json={"code": {"system": "SNOMED-CT", "code": "38341003"}}, headers=clinic.physician
    )
    assert snomed.status_code == 201 and snomed.json()["code"]["system"] == SNOMED
    rejected = {
        "unknown": {"code": {"system": ICD10, "code": "E11.999"}},
        "category": {"code": {"system": ICD10, "code": "E11"}},
        "wrong system": {"code": {"system": CPT, "code": "99213"}},
        "future onset": {
            "code": {"system": ICD10, "code": "I10"},
            "onset_date": (date.today() + timedelta(days=2)).isoformat(),
        },
        "before birth": {"code": {"system": ICD10, "code": "I10"}, "onset_date": "1950-01-01"},
    }
    for case, body in rejected.items():
        response = clinic.client.post(url, json=body, headers=clinic.physician)
        assert response.status_code == 422, case
    assert (
        clinic.client.post(
            url, json={"code": {"system": ICD10, "code": "E11.9"}}, headers=clinic.physician
        ).status_code
        == 409
    )
    assert clinic.count("conditions") == 2


def test_procedures_take_cpt_without_descriptions_and_hcpcs_with(clinic: Clinic) -> None:
    encounter = clinic.encounter()
    url = f"/api/v1/encounters/{encounter['id']}/procedures"
    cpt = clinic.client.post(
        url,
        json={"code": {"system": CPT, "code": "99213"}, "modifiers": ["25"]},
        headers=clinic.physician,
    )
    assert cpt.status_code == 201, cpt.text
    assert cpt.json()["code"]["display"] is None and cpt.json()["modifiers"] == ["25"]
    hcpcs = clinic.client.post(
        url, json={"code": {"system": HCPCS, "code": "G0439"}}, headers=clinic.physician
    )
    assert hcpcs.status_code == 201 and hcpcs.json()["code"]["display"]
    for body in (
        {"code": {"system": CPT, "code": "00000"}},
        {"code": {"system": ICD10, "code": "I10"}},
        {"code": {"system": CPT, "code": "99213"}, "modifiers": ["TOO-LONG"]},
        {"code": {"system": CPT, "code": "99213"}, "performed_at": "2999-01-01T00:00:00Z"},
    ):
        assert clinic.client.post(url, json=body, headers=clinic.physician).status_code == 422, body


def test_encounter_workflow_and_inpatient_stay(clinic: Clinic) -> None:
    visit = clinic.encounter()
    url = f"/api/v1/encounters/{visit['id']}"
    assert (
        clinic.client.post(
            f"{url}/discharge", json={"disposition": "home"}, headers=clinic.physician
        ).status_code
        == 409
    )
    finished = clinic.client.post(f"{url}/finish", headers=clinic.physician).json()
    assert finished["status"] == "finished" and finished["end_at"]
    assert clinic.client.post(f"{url}/cancel", headers=clinic.physician).status_code == 409
    assert clinic.client.post(f"{url}/finish", headers=clinic.physician).status_code == 409

    stay = clinic.encounter(encounter_class="inpatient", admit_source="emergency")
    assert stay["admitted_at"] == stay["start_at"]
    stay_url = f"/api/v1/encounters/{stay['id']}"
    assert clinic.client.post(f"{stay_url}/finish", headers=clinic.physician).status_code == 409
    discharged = clinic.client.post(
        f"{stay_url}/discharge", json={"disposition": "home"}, headers=clinic.physician
    ).json()
    assert (discharged["status"], discharged["discharge_disposition"]) == ("finished", "home")
    assert discharged["discharged_at"] == discharged["end_at"]

    cancelled = clinic.encounter()
    clinic.client.post(f"/api/v1/encounters/{cancelled['id']}/cancel", headers=clinic.physician)
    vitals = clinic.client.post(
        f"/api/v1/encounters/{cancelled['id']}/vitals",
        json={"observations": [vital("8867-4", "70", "/min")]},
        headers=clinic.nurse,
    )
    assert vitals.status_code == 409
    for bad in (
        {"start_at": "2999-01-01T00:00:00Z"},
        {"start_at": "1950-01-01T00:00:00Z"},
        {"encounter_class": "telepathy"},
    ):
        response = clinic.client.post(
            "/api/v1/encounters",
            json={
                "patient_id": str(clinic.patient.id),
                "practitioner_id": str(clinic.practitioner.id),
            }
            | bad,
            headers=clinic.physician,
        )
        assert response.status_code == 422, bad


def test_problem_list_entries_resolve(clinic: Clinic) -> None:
    url = f"/api/v1/patients/{clinic.patient.id}/problems"
    added = clinic.client.post(
        url,
        json={"code": {"system": SNOMED, "code": "44054006"}, "onset_date": "2015-06-01"},
        headers=clinic.physician,
    )
    assert added.status_code == 201, added.text
    category = clinic.client.post(
        url, json={"code": {"system": ICD10, "code": "E11"}}, headers=clinic.physician
    )
    assert category.status_code == 201
    resolved = clinic.client.patch(
        f"/api/v1/conditions/{added.json()['id']}",
        json={"clinical_status": "resolved", "abatement_date": "2020-01-01"},
        headers=clinic.physician,
    ).json()
    assert resolved["clinical_status"] == "resolved"
    backwards = clinic.client.patch(
        f"/api/v1/conditions/{added.json()['id']}",
        json={"clinical_status": "resolved", "abatement_date": "2010-01-01"},
        headers=clinic.physician,
    )
    assert backwards.status_code == 422
    assert [p["code"]["code"] for p in clinic.client.get(url, headers=clinic.nurse).json()] == [
        "44054006",
        "E11",
    ]


def test_another_tenant_cannot_reach_the_chart(
    clinic: Clinic, client: TestClient, database: Database
) -> None:
    encounter = clinic.encounter()
    note_id = client.post(
        f"/api/v1/encounters/{encounter['id']}/notes",
        json={"subjective": "x"},
        headers=clinic.physician,
    ).json()["note_id"]
    other = make_tenant(database=database)
    theirs = bearer(
        client, tenant=other, user=make_user(database=database, tenant=other, role=Role.PHYSICIAN)
    )
    for method, path, body in (
        ("GET", f"/api/v1/encounters/{encounter['id']}", None),
        (
            "POST",
            f"/api/v1/encounters/{encounter['id']}/vitals",
            {"observations": [vital("8867-4", "70", "/min")]},
        ),
        ("GET", f"/api/v1/notes/{note_id}", None),
        ("PATCH", f"/api/v1/notes/{note_id}", {"plan": "x"}),
        ("GET", f"/api/v1/patients/{clinic.patient.id}/encounters", None),
        (
            "POST",
            "/api/v1/encounters",
            {"patient_id": str(clinic.patient.id), "practitioner_id": str(clinic.practitioner.id)},
        ),
    ):
        assert client.request(method, path, json=body, headers=theirs).status_code == 404, (
            method,
            path,
        )


def test_chart_reads_and_writes_are_audited_with_the_patient(clinic: Clinic) -> None:
    encounter = clinic.encounter()
    clinic.client.post(
        f"/api/v1/encounters/{encounter['id']}/vitals",
        json={"observations": [vital("8867-4", "70", "/min")]},
        headers=clinic.nurse,
    )
    clinic.client.get(f"/api/v1/encounters/{encounter['id']}", headers=clinic.physician)
    with clinic.database.transaction() as session:
        bind_tenant(session, clinic.tenant.id)
        rows = session.execute(
            text(
                "SELECT action, patient_id FROM audit_events "
                "WHERE action LIKE 'encounter.%' OR action LIKE 'vitals.%' ORDER BY occurred_at"
            )
        ).all()
    assert [(r.action, r.patient_id) for r in rows] == [
        ("encounter.open", clinic.patient.id),
        ("vitals.record", clinic.patient.id),
        ("encounter.read", clinic.patient.id),
    ]
