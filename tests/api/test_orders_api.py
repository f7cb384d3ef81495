from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.factories.identity import bearer, make_tenant, make_user
from tests.factories.orders import (
    BMP,
    CBC,
    CYP2C19,
    GLUCOSE,
    HBA1C,
    HEMOGLOBIN,
    POTASSIUM,
    SARS_COV_2,
    SODIUM,
    linked_practitioner,
)
from tests.factories.patients import make_patient
from tests.factories.scheduling import tenant_session
from transactional.database import Database
from transactional.identity.roles import Role

LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
TABLES = ("orders", "lab_results", "imaging_reports", "clinical_alerts")


def result(code: str, value: str, unit: str, **extra: Any) -> dict[str, Any]:
    return {"code": {"system": LOINC, "code": code}, "value": value, "unit": unit} | extra


class Clinic:
    """A tenant with a physician linked to a practitioner, and staff signed in on first use."""

    def __init__(self, client: TestClient, database: Database) -> None:
        self.client, self.database = client, database
        self.tenant = make_tenant(database=database)
        self.physician_user = make_user(database=database, tenant=self.tenant, role=Role.PHYSICIAN)
        self.physician = bearer(client, tenant=self.tenant, user=self.physician_user)
        self.practitioner = linked_practitioner(
            database=database, tenant=self.tenant, user=self.physician_user
        )
        self.patient = make_patient(database=database, tenant=self.tenant)

    def _staff(self, role: Role) -> dict[str, str]:
        user = make_user(database=self.database, tenant=self.tenant, role=role)
        return bearer(self.client, tenant=self.tenant, user=user)

    @cached_property
    def nurse(self) -> dict[str, str]:
        return self._staff(Role.NURSE)

    @cached_property
    def lab_tech(self) -> dict[str, str]:
        return self._staff(Role.LAB_TECH)

    @cached_property
    def receptionist(self) -> dict[str, str]:
        return self._staff(Role.RECEPTIONIST)

    def order(self, code: str = BMP, **overrides: Any) -> dict[str, Any]:
        body = {
            "patient_id": str(self.patient.id),
            "practitioner_id": str(self.practitioner.id),
            "category": "laboratory",
            "code": {"system": LOINC, "code": code},
        } | overrides
        response = self.client.post("/api/v1/orders", json=body, headers=self.physician)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def imaging(self, code: str = "71046", system: str = CPT) -> dict[str, Any]:
        body = {
            "patient_id": str(self.patient.id),
            "practitioner_id": str(self.practitioner.id),
            "category": "imaging",
            "code": {"system": system, "code": code},
        }
        response = self.client.post("/api/v1/orders", json=body, headers=self.physician)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def collected(self, code: str = BMP, specimen_type: str = "serum") -> dict[str, Any]:
        order = self.order(code)
        response = self.client.post(
            f"/api/v1/orders/{order['id']}/specimen",
            json={"specimen_type": specimen_type},
            headers=self.lab_tech,
        )
        assert response.status_code == 200, response.text
        collected: dict[str, Any] = response.json()
        return collected

    def post_results(
        self, order_id: str, results: list[dict[str, Any]], headers: dict[str, str] | None = None
    ) -> Any:
        return self.client.post(
            f"/api/v1/orders/{order_id}/results",
            json={"results": results},
            headers=headers or self.lab_tech,
        )

    def counts(self) -> dict[str, int]:
        with tenant_session(database=self.database, tenant=self.tenant) as session:
            return {
                table: int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in TABLES
            }


@pytest.fixture
def clinic(client: TestClient, database: Database) -> Clinic:
    return Clinic(client, database)


def test_a_critical_potassium_alerts_the_ordering_physician_until_acknowledged(
    clinic: Clinic,
) -> None:
    order = clinic.order(BMP, priority="stat", reason={"system": ICD10, "code": "N18.3"})
    assert (order["status"], order["priority"], order["code"]["display"]) == (
        "active",
        "stat",
        "Basic metabolic panel - Blood",
    )
    collected = clinic.client.post(
        f"/api/v1/orders/{order['id']}/specimen",
        json={"specimen_type": "serum", "collected_at": datetime.now(UTC).isoformat()},
        headers=clinic.nurse,
    ).json()
    assert collected["status"] == "specimen_collected"
    assert collected["specimen"]["specimen_type"] == "serum"
    response = clinic.post_results(
        order["id"],
        [
            result(POTASSIUM, "6.8", "mmol/L"),
            result(SODIUM, "138", "mEq/L"),
            result(GLUCOSE, "112", "mg/dL"),
            result("2160-0", "0.5", "mg/dL"),
        ],
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["order_status"], body["result_status"]) == ("resulted", "final")
    flags = {r["code"]["code"]: r["abnormal_flag"] for r in body["results"]}
    assert flags == {POTASSIUM: "HH", SODIUM: "N", GLUCOSE: "H", "2160-0": "L"}
    potassium = next(r for r in body["results"] if r["code"]["code"] == POTASSIUM)
    assert potassium["critical_range"] == {"low": "2.8", "high": "6.2"}
    assert potassium["reference_range"] == {"low": "3.5", "high": "5.1"}
    assert potassium["alert_id"] is not None
    assert all(r["alert_id"] is None for r in body["results"] if r is not potassium)

    inbox = clinic.client.get("/api/v1/alerts?status=open", headers=clinic.physician).json()
    assert [a["id"] for a in inbox] == [potassium["alert_id"]]
    alert = inbox[0]
    assert (alert["kind"], alert["severity"], alert["status"]) == (
        "critical_result",
        "critical",
        "open",
    )
    assert alert["subject"] == {"type": "lab_result", "id": potassium["id"]}
    assert alert["data"]["value"] == "6.8" and alert["data"]["code"]["code"] == POTASSIUM
    assert alert["recipient_practitioner_id"] == str(clinic.practitioner.id)
    assert alert["suggested_actions"] and "6.2" in alert["rationale"]

    # Other reads leave it open; only an acknowledgement closes it.
    clinic.client.get(f"/api/v1/orders/{order['id']}", headers=clinic.physician)
    assert clinic.client.get("/api/v1/alerts", headers=clinic.physician).json()[0]["status"] == (
        "open"
    )
    acknowledged = clinic.client.post(
        f"/api/v1/alerts/{alert['id']}/acknowledge", headers=clinic.physician
    ).json()
    assert acknowledged["status"] == "acknowledged"
    assert acknowledged["acted_by"] == str(clinic.physician_user.id) and acknowledged["acted_at"]
    assert clinic.client.get("/api/v1/alerts", headers=clinic.physician).json() == []
    with tenant_session(database=clinic.database, tenant=clinic.tenant) as session:
        audited = session.execute(
            text(
                "SELECT actor_user_id, patient_id, occurred_at FROM audit_events"
                " WHERE action = 'alert.acknowledge'"
            )
        ).one()
    assert (audited.actor_user_id, audited.patient_id) == (
        clinic.physician_user.id,
        clinic.patient.id,
    )


def test_an_hba1c_of_5_9_percent_is_high(clinic: Clinic) -> None:
    order = clinic.collected(HBA1C, specimen_type="blood")
    response = clinic.post_results(order["id"], [result(HBA1C, "5.9", "%")])
    assert response.status_code == 201, response.text
    stored = response.json()["results"][0]
    assert (stored["value"], stored["unit"], stored["abnormal_flag"]) == ("5.9", "%", "H")
    assert stored["reference_range"] == {"low": "4", "high": "5.6"}
    assert stored["alert_id"] is None


def test_values_in_other_units_of_the_same_dimension_are_converted(clinic: Clinic) -> None:
    order = clinic.collected(CBC, specimen_type="blood")
    response = clinic.post_results(
        order["id"],
        [
            result(HEMOGLOBIN, "65", "g/L"),  # 6.5 g/dL: below the critical limit of 7
            result("777-3", "250", "10*9/L"),
            result("6690-2", "7.1", "10*3/uL", reference_range={"low": "4.0", "high": "7.0"}),
        ],
    )
    assert response.status_code == 201, response.text
    by_code = {r["code"]["code"]: r for r in response.json()["results"]}
    assert by_code[HEMOGLOBIN]["value"] == "6.5"
    assert (by_code[HEMOGLOBIN]["unit"], by_code[HEMOGLOBIN]["abnormal_flag"]) == ("g/dL", "LL")
    assert by_code["777-3"]["abnormal_flag"] == "N"
    assert by_code["6690-2"]["abnormal_flag"] == "H"  # the laboratory's own interval
    assert by_code["6690-2"]["reference_range"] == {"low": "4", "high": "7"}


@pytest.mark.parametrize(
    ("results", "message"),
    [
        ([result(POTASSIUM, "4.1", "mg/dL")], "does not fit"),
        ([result(POTASSIUM, "4.1", "furlongs")], "unknown UCUM unit"),
        ([result(HBA1C, "5.9", "%")], "not part of the ordered test"),
        ([result("9999-4", "1", "mmol/L")], "unknown LOINC"),
        (
            [{"code": {"system": CPT, "code": "80048"}, "value": "1", "unit": "mmol/L"}],
            "not accepted",
        ),
        ([{"code": {"system": LOINC, "code": POTASSIUM}, "value_text": "high"}], "numeric value"),
        ([result(POTASSIUM, "4.1", "mmol/L"), result(POTASSIUM, "4.2", "mmol/L")], "once"),
        (
            [result(POTASSIUM, "4.1", "mmol/L", reference_range={"low": "5", "high": "3"})],
            "low must not be above high",
        ),
        ([result(SODIUM, "140", "mmol/L"), result(POTASSIUM, "4", "mg/dL")], "does not fit"),
    ],
)
def test_results_that_do_not_fit_the_order_are_rejected_whole(
    clinic: Clinic, results: list[dict[str, Any]], message: str
) -> None:
    order = clinic.collected(BMP)
    before = clinic.counts()
    response = clinic.post_results(order["id"], results)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert message.lower() in response.json()["detail"].lower()
    assert clinic.counts() == before
    after = clinic.client.get(f"/api/v1/orders/{order['id']}", headers=clinic.lab_tech).json()
    assert after["status"] == "specimen_collected" and after["results"] == []


def test_malformed_result_bodies_are_rejected_by_the_schema(clinic: Clinic) -> None:
    order = clinic.collected(BMP)
    before = clinic.counts()
    bodies: list[dict[str, Any]] = [
        {"results": []},
        {"results": [result(POTASSIUM, "four", "mmol/L")]},
        {"results": [result(POTASSIUM, "NaN", "mmol/L")]},
        {"results": [result(POTASSIUM, "4.1234567", "mmol/L")]},
        {"results": [result(POTASSIUM, "4.1", "mmol/L")], "status": "amended"},
        {"results": [result(POTASSIUM, "4.1", "mmol/L", flag="HH")]},
    ]
    for body in bodies:
        response = clinic.client.post(
            f"/api/v1/orders/{order['id']}/results", json=body, headers=clinic.lab_tech
        )
        assert response.status_code == 422, body
    assert clinic.counts() == before


def test_only_a_lab_tech_enters_results(clinic: Clinic) -> None:
    order = clinic.collected(BMP)
    before = clinic.counts()
    for headers in (clinic.physician, clinic.nurse, clinic.receptionist):
        response = clinic.post_results(order["id"], [result(SODIUM, "140", "mmol/L")], headers)
        assert response.status_code == 403
        assert "result.write" in response.json()["detail"]
    assert clinic.counts() == before


def test_results_for_a_cancelled_order_are_refused(clinic: Clinic) -> None:
    order = clinic.collected(BMP)
    no_reason = clinic.client.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"reason": "  "}, headers=clinic.physician
    )
    assert no_reason.status_code == 422
    cancelled = clinic.client.post(
        f"/api/v1/orders/{order['id']}/cancel",
        json={"reason": "Duplicate order"},
        headers=clinic.physician,
    ).json()
    assert (cancelled["status"], cancelled["closed_reason"]) == ("cancelled", "Duplicate order")
    before = clinic.counts()
    response = clinic.post_results(order["id"], [result(SODIUM, "140", "mmol/L")])
    assert response.status_code == 409
    assert "cancelled" in response.json()["detail"]
    assert clinic.counts() == before


def test_illegal_status_transitions_are_conflicts(clinic: Clinic) -> None:
    lab = clinic.order(BMP)
    imaging = clinic.imaging()
    url = "/api/v1/orders/{}/{}"
    cases = [
        (lab["id"], "results", {"results": [result(SODIUM, "140", "mmol/L")]}, clinic.lab_tech),
        (imaging["id"], "specimen", {"specimen_type": "serum"}, clinic.lab_tech),
        (imaging["id"], "results", {"results": [result(SODIUM, "140", "mmol/L")]}, clinic.lab_tech),
        (lab["id"], "report", {"text": "Normal.", "status": "final"}, clinic.physician),
    ]
    before = clinic.counts()
    for order_id, action, body, headers in cases:
        response = clinic.client.post(url.format(order_id, action), json=body, headers=headers)
        assert response.status_code == 409, (action, response.text)
    assert clinic.counts() == before

    collected = clinic.collected(BMP)
    again = clinic.client.post(
        url.format(collected["id"], "specimen"),
        json={"specimen_type": "serum"},
        headers=clinic.nurse,
    )
    assert again.status_code == 409
    assert (
        clinic.post_results(collected["id"], [result(SODIUM, "140", "mmol/L")]).status_code == 201
    )
    for action, body in (("cancel", {"reason": "late"}), ("specimen", {"specimen_type": "serum"})):
        response = clinic.client.post(
            url.format(collected["id"], action), json=body, headers=clinic.nurse
        )
        assert response.status_code == 409, action
    withdrawn = clinic.client.post(
        url.format(collected["id"], "enter-in-error"),
        json={"reason": "Wrong patient label"},
        headers=clinic.physician,
    ).json()
    assert withdrawn["status"] == "entered_in_error"
    assert [r["status"] for r in withdrawn["results"]] == ["entered_in_error"]
    for action, body in (("cancel", {"reason": "x"}), ("enter-in-error", {"reason": "x"})):
        response = clinic.client.post(
            url.format(collected["id"], action), json=body, headers=clinic.physician
        )
        assert response.status_code == 409, action


def test_bad_orders_are_rejected_and_nothing_is_written(clinic: Clinic, database: Database) -> None:
    other = make_tenant(database=database)
    foreign_patient = make_patient(database=database, tenant=other)
    base = {
        "patient_id": str(clinic.patient.id),
        "practitioner_id": str(clinic.practitioner.id),
        "category": "laboratory",
        "code": {"system": LOINC, "code": BMP},
    }
    cases: list[tuple[dict[str, Any], int]] = [
        ({"code": {"system": LOINC, "code": "9999-4"}}, 422),
        ({"code": {"system": LOINC, "code": "8480-6"}}, 422),  # a vital sign, not a lab test
        ({"code": {"system": CPT, "code": "71046"}}, 422),  # imaging code on a lab order
        ({"category": "imaging", "code": {"system": CPT, "code": "99213"}}, 422),
        ({"reason": {"system": ICD10, "code": "Z99.999"}}, 422),
        ({"priority": "whenever"}, 422),
        ({"practitioner_id": None}, 422),
        ({"patient_id": str(foreign_patient.id)}, 404),
        ({"practitioner_id": str(clinic.patient.id)}, 422),
        ({"encounter_id": str(clinic.patient.id)}, 422),
    ]
    for overrides, expected in cases:
        response = clinic.client.post(
            "/api/v1/orders", json=base | overrides, headers=clinic.physician
        )
        assert response.status_code == expected, (overrides, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    lab_tech = clinic.client.post("/api/v1/orders", json=base, headers=clinic.lab_tech)
    assert lab_tech.status_code == 403
    assert clinic.counts() == dict.fromkeys(TABLES, 0)


def test_qualitative_and_pharmacogenomic_results_are_coded(clinic: Clinic) -> None:
    covid = clinic.collected(SARS_COV_2, specimen_type="nasopharyngeal_swab")
    detected = clinic.post_results(
        covid["id"],
        [
            {
                "code": {"system": LOINC, "code": SARS_COV_2},
                "value_code": {"system": LOINC, "code": "LA11882-0"},
                "interpretation": "Positive for SARS-CoV-2 RNA",
            }
        ],
    )
    assert detected.status_code == 201, detected.text
    stored = detected.json()["results"][0]
    assert stored["value_code"] == {"system": LOINC, "code": "LA11882-0", "display": "Detected"}
    assert (stored["abnormal_flag"], stored["value"], stored["alert_id"]) == ("A", None, None)
    assert stored["interpretation"] == "Positive for SARS-CoV-2 RNA"
    negative = clinic.collected(SARS_COV_2, specimen_type="nasopharyngeal_swab")
    not_detected = clinic.post_results(
        negative["id"], [{"code": {"system": LOINC, "code": SARS_COV_2}, "value_code": "LA11883-8"}]
    )
    assert not_detected.status_code == 201, not_detected.text
    assert not_detected.json()["results"][0]["abnormal_flag"] == "N"

    genotype = clinic.collected(CYP2C19, specimen_type="blood")
    before = clinic.counts()
    for bad in (
        {"value_code": "LA11882-0"},  # an answer of another test
        {"value_code": {"system": "http://snomed.info/sct", "code": "LA9657-3"}},
        {"value": "1", "unit": "%"},
        {"value_code": "LA9657-3", "reference_range": {"low": "1"}},
    ):
        body = {"code": {"system": LOINC, "code": CYP2C19}} | bad
        assert clinic.post_results(genotype["id"], [body]).status_code == 422, bad
    assert clinic.counts() == before
    poor = clinic.post_results(
        genotype["id"],
        [
            {
                "code": {"system": LOINC, "code": CYP2C19},
                "value_code": "LA9657-3",
                "value_text": "*2/*2",
            }
        ],
    )
    assert poor.status_code == 201, poor.text
    phenotype = poor.json()["results"][0]
    assert phenotype["value_code"]["display"] == "Poor metabolizer"
    assert (phenotype["value_text"], phenotype["abnormal_flag"]) == ("*2/*2", None)
    assert phenotype["code"]["display"].startswith("CYP2C19 gene product metabolic activity")


def test_preliminary_results_then_final(clinic: Clinic) -> None:
    order = clinic.collected(BMP)
    preliminary = clinic.client.post(
        f"/api/v1/orders/{order['id']}/results",
        json={"results": [result(POTASSIUM, "5.9", "mmol/L")], "status": "preliminary"},
        headers=clinic.lab_tech,
    ).json()
    assert (preliminary["result_status"], preliminary["results"][0]["status"]) == (
        "preliminary",
        "preliminary",
    )
    final = clinic.post_results(order["id"], [result(POTASSIUM, "6.0", "mmol/L")]).json()
    assert final["result_status"] == "final"
    read = clinic.client.get(f"/api/v1/orders/{order['id']}", headers=clinic.physician).json()
    assert [(r["value"], r["status"]) for r in read["results"]] == [
        ("5.9", "superseded"),
        ("6", "final"),
    ]
    late = clinic.post_results(order["id"], [result(SODIUM, "140", "mmol/L")])
    assert late.status_code == 409


def test_imaging_report_is_signed_final_then_only_corrected_or_amended(clinic: Clinic) -> None:
    order = clinic.imaging("36643-5", LOINC)
    assert order["code"]["display"] == "XR Chest 2 Views"
    url = f"/api/v1/orders/{order['id']}/report"
    draft = clinic.client.post(url, json={"text": "Lungs clear."}, headers=clinic.physician)
    assert draft.status_code == 201 and draft.json()["status"] == "active"
    assert clinic.client.post(url, json={"text": "x"}, headers=clinic.nurse).status_code == 403
    assert clinic.client.post(url, json={"text": "x"}, headers=clinic.lab_tech).status_code == 403
    signed = clinic.client.post(
        url,
        json={"text": "Lungs clear. No effusion.", "status": "final"},
        headers=clinic.physician,
    )
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert (body["status"], body["result_status"]) == ("resulted", "final")
    assert [(v["version"], v["status"], v["kind"]) for v in body["report"]] == [
        (1, "final", "original")
    ]
    assert body["report"][0]["signed_by"] == str(clinic.physician_user.id)

    before = clinic.counts()
    for bad, expected in (
        ({"text": "Changed.", "status": "final"}, 409),
        ({"text": "Changed.", "kind": "correction"}, 422),
        ({"text": "Changed.", "kind": "rewrite", "reason": "x"}, 422),
    ):
        assert clinic.client.post(url, json=bad, headers=clinic.physician).status_code == expected
    assert clinic.counts() == before
    corrected = clinic.client.post(
        url,
        json={
            "text": "Small left pleural effusion.",
            "status": "final",
            "kind": "correction",
            "reason": "Effusion missed on first read",
        },
        headers=clinic.physician,
    )
    assert corrected.status_code == 201, corrected.text
    addendum = clinic.client.post(
        url,
        json={"text": "Compared with prior film.", "kind": "addendum", "reason": "Prior found"},
        headers=clinic.physician,
    )
    assert addendum.status_code == 201
    versions = addendum.json()["report"]
    assert [(v["version"], v["kind"], v["status"]) for v in versions] == [
        (1, "original", "final"),
        (2, "correction", "final"),
        (3, "addendum", "draft"),
    ]
    assert versions[0]["text"] == "Lungs clear. No effusion."


def test_the_worklist_filters_and_puts_stat_first(clinic: Clinic) -> None:
    routine = clinic.order(BMP)
    stat = clinic.order(CBC, priority="stat")
    imaging = clinic.imaging()
    collected = clinic.collected(HBA1C)
    url = "/api/v1/orders?category=laboratory&status=active"
    listed = clinic.client.get(url, headers=clinic.lab_tech).json()
    assert [o["id"] for o in listed] == [stat["id"], routine["id"]]
    everything = clinic.client.get("/api/v1/orders", headers=clinic.lab_tech).json()
    assert {o["id"] for o in everything} == {
        routine["id"],
        stat["id"],
        imaging["id"],
        collected["id"],
    }
    assert everything[0]["id"] == stat["id"]
    first = clinic.client.get("/api/v1/orders?limit=2", headers=clinic.lab_tech).json()
    rest = clinic.client.get(
        f"/api/v1/orders?limit=2&after={first[-1]['id']}", headers=clinic.lab_tech
    ).json()
    assert [o["id"] for o in first + rest] == [o["id"] for o in everything]
    stat_only = clinic.client.get("/api/v1/orders?priority=stat", headers=clinic.lab_tech).json()
    assert [o["id"] for o in stat_only] == [stat["id"]]
    for bad in ("status=done", "category=pharmacy", "priority=now", "limit=0"):
        assert clinic.client.get(f"/api/v1/orders?{bad}", headers=clinic.lab_tech).status_code == (
            422
        )
    patient = clinic.client.get(
        f"/api/v1/patients/{clinic.patient.id}/orders?category=imaging", headers=clinic.nurse
    ).json()
    assert [o["id"] for o in patient] == [imaging["id"]]
    assert clinic.client.get("/api/v1/orders", headers=clinic.receptionist).status_code == 403


def test_specimen_collection_time_is_checked(clinic: Clinic) -> None:
    order = clinic.order(BMP)
    url = f"/api/v1/orders/{order['id']}/specimen"
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    for body in (
        {"specimen_type": "serum", "collected_at": future},
        {"specimen_type": "serum", "collected_at": "2024-01-01T10:00:00"},  # no time zone
        {"specimen_type": "serum", "collected_at": "1901-01-01T10:00:00Z"},  # before birth
        {"specimen_type": "blood of a unicorn"},
    ):
        response = clinic.client.post(url, json=body, headers=clinic.lab_tech)
        assert response.status_code == 422, body
    assert (
        clinic.client.post(
            url, json={"specimen_type": "serum"}, headers=clinic.receptionist
        ).status_code
        == 403
    )
    assert (
        clinic.client.get(f"/api/v1/orders/{order['id']}", headers=clinic.nurse).json()["status"]
        == "active"
    )


def test_another_tenant_never_sees_orders_results_or_alerts(
    clinic: Clinic, client: TestClient, database: Database
) -> None:
    order = clinic.collected(BMP)
    clinic.post_results(order["id"], [result(POTASSIUM, "7.0", "mmol/L")])
    imaging = clinic.imaging()
    alert = clinic.client.get("/api/v1/alerts", headers=clinic.physician).json()[0]
    other = make_tenant(database=database)
    theirs = {
        role: bearer(
            client, tenant=other, user=make_user(database=database, tenant=other, role=role)
        )
        for role in (Role.PHYSICIAN, Role.LAB_TECH)
    }
    doctor, tech = theirs[Role.PHYSICIAN], theirs[Role.LAB_TECH]
    before = clinic.counts()
    for method, path, body, headers in (
        ("GET", f"/api/v1/orders/{order['id']}", None, doctor),
        ("GET", f"/api/v1/patients/{clinic.patient.id}/orders", None, doctor),
        ("GET", f"/api/v1/patients/{clinic.patient.id}/alerts", None, doctor),
        ("POST", f"/api/v1/orders/{order['id']}/cancel", {"reason": "x"}, doctor),
        ("POST", f"/api/v1/orders/{order['id']}/enter-in-error", {"reason": "x"}, doctor),
        ("POST", f"/api/v1/orders/{imaging['id']}/report", {"text": "x"}, doctor),
        ("POST", f"/api/v1/orders/{order['id']}/specimen", {"specimen_type": "serum"}, tech),
        (
            "POST",
            f"/api/v1/orders/{order['id']}/results",
            {"results": [result(SODIUM, "140", "mmol/L")]},
            tech,
        ),
        ("POST", f"/api/v1/alerts/{alert['id']}/acknowledge", None, doctor),
        ("POST", f"/api/v1/alerts/{alert['id']}/override", {"reason": "x"}, doctor),
        ("GET", f"/api/v1/orders?after={order['id']}", None, tech),
    ):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 404, (method, path, response.text)
    assert client.get("/api/v1/orders", headers=tech).json() == []
    assert client.get("/api/v1/alerts", headers=doctor).json() == []
    assert clinic.counts() == before


def test_order_and_result_reads_and_writes_are_audited_with_the_patient(clinic: Clinic) -> None:
    order = clinic.collected(BMP)
    clinic.post_results(order["id"], [result(SODIUM, "140", "mmol/L")])
    clinic.client.get(f"/api/v1/orders/{order['id']}", headers=clinic.physician)
    clinic.client.get(f"/api/v1/patients/{clinic.patient.id}/orders", headers=clinic.physician)
    clinic.client.get("/api/v1/orders", headers=clinic.lab_tech)
    with tenant_session(database=clinic.database, tenant=clinic.tenant) as session:
        rows = session.execute(
            text(
                "SELECT action, patient_id, resource_id FROM audit_events"
                " WHERE action LIKE 'order.%' OR action LIKE 'result.%' ORDER BY occurred_at"
            )
        ).all()
    assert [(r.action, r.patient_id) for r in rows] == [
        (action, clinic.patient.id)
        for action in (
            "order.create",
            "order.specimen_collect",
            "result.record",
            "order.read",
            "order.list",
            "order.worklist",
        )
    ]
    assert rows[0].resource_id == order["id"]
