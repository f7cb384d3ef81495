from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.factories.identity import bearer, make_tenant, make_user
from tests.factories.patients import make_patient
from tests.factories.scheduling import make_practitioner
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.identity.roles import Role
from transactional.tenancy import bind_tenant

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
TABLES = ("prescriptions", "prescription_findings")


def rx(code: str) -> dict[str, str]:
    return {"system": RXNORM, "code": code}


class Clinic:
    def __init__(self, client: TestClient, database: Database) -> None:
        self.client, self.database = client, database
        self.tenant = make_tenant(database=database)
        self.physician_user = make_user(database=database, tenant=self.tenant, role=Role.PHYSICIAN)
        self.physician = bearer(client, tenant=self.tenant, user=self.physician_user)
        self.nurse = bearer(
            client,
            tenant=self.tenant,
            user=make_user(database=database, tenant=self.tenant, role=Role.NURSE),
        )
        self.pharmacist = bearer(
            client,
            tenant=self.tenant,
            user=make_user(database=database, tenant=self.tenant, role=Role.PHARMACIST),
        )
        self.patient = make_patient(database=database, tenant=self.tenant)

    def prescribe(self, headers: dict[str, str] | None = None, **body: Any) -> Any:
        values = {"dose": "10 mg", "route": "oral", "frequency": "daily"} | body
        if isinstance(values.get("medication"), str):
            values["medication"] = rx(values["medication"])
        return self.client.post(
            f"/api/v1/patients/{self.patient.id}/prescriptions",
            json=values,
            headers=headers or self.physician,
        )

    def active(self, code: str, **body: Any) -> dict[str, Any]:
        response = self.prescribe(medication=code, **body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        assert result["status"] == "active"
        return result

    def allergy(self, system: str, code: str, severity: str = "severe") -> dict[str, Any]:
        response = self.client.post(
            f"/api/v1/patients/{self.patient.id}/allergies",
            json={"substance": {"system": system, "code": code}, "severity": severity},
            headers=self.physician,
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def counts(self, tenant: Tenant | None = None) -> dict[str, int]:
        with self.database.transaction() as session:
            bind_tenant(session, (tenant or self.tenant).id)
            return {
                table: int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in TABLES
            }

    def audit(self, action: str) -> list[Any]:
        with self.database.transaction() as session:
            bind_tenant(session, self.tenant.id)
            return list(
                session.execute(
                    text(
                        "SELECT patient_id, resource_id, detail FROM audit_events "
                        "WHERE action = :action ORDER BY occurred_at"
                    ),
                    {"action": action},
                )
            )


@pytest.fixture
def clinic(client: TestClient, database: Database) -> Clinic:
    return Clinic(client, database)


@pytest.mark.parametrize(
    ("dose", "route", "frequency", "expected"),
    [
        (
            "500 mg",
            "PO",
            "BID",
            ({"value": "500", "unit": "mg"}, "26643006", "BID", "2", False),
        ),
        (
            {"value": "500", "unit": "mg"},
            "oral",
            "twice daily",
            ({"value": "500", "unit": "mg"}, "26643006", "BID", "2", False),
        ),
        (
            {"value": 1.5, "unit": "g"},
            "intravenous",
            "q8h",
            ({"value": "1.5", "unit": "g"}, "47625008", "Q8H", "3", False),
        ),
        (
            "250mcg",
            "IV",
            "daily",
            ({"value": "250", "unit": "ug"}, "47625008", "QD", "1", False),
        ),
        (
            "2 tablets",
            {"system": SNOMED, "code": "26643006"},
            "q6h PRN",
            ({"value": "2", "unit": "{tablet}"}, "26643006", "Q6H", "4", True),
        ),
        (
            "1 puff",
            "inhaled",
            "PRN",
            ({"value": "1", "unit": "{puff}"}, "447694001", "PRN", None, True),
        ),
        (
            "10 units",
            "SC",
            {"code": "QHS"},
            ({"value": "10", "unit": "[IU]"}, "34206005", "BED", "1", False),
        ),
    ],
)
def test_plain_dose_route_and_frequency_are_accepted_and_normalised(
    clinic: Clinic, dose: Any, route: Any, frequency: Any, expected: tuple[Any, ...]
) -> None:
    response = clinic.prescribe(medication="161", dose=dose, route=route, frequency=frequency)

    assert response.status_code == 201, response.text
    body = response.json()
    dose_out, route_code, frequency_code, per_day, as_needed = expected
    assert body["dose"] == dose_out
    assert body["route"]["system"] == SNOMED and body["route"]["code"] == route_code
    assert body["route"]["display"]
    assert body["frequency"]["code"] == frequency_code
    assert body["frequency"]["per_day"] == per_day
    assert body["frequency"]["as_needed"] is as_needed


def test_a_physician_post_creates_a_signed_active_prescription_with_its_ingredients(
    clinic: Clinic,
) -> None:
    practitioner = make_practitioner(database=clinic.database, tenant=clinic.tenant)
    body = clinic.active(
        "562251",
        dose="1 tablet",
        frequency="BID",
        quantity="20 tablets",
        refills=1,
        duration_days=10,
        prescriber_id=str(practitioner.id),
        indication={"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J0190"},
        note="Take with food",
    )

    assert body["medication"]["code"] == "562251" and body["medication"]["system"] == RXNORM
    assert [i["code"] for i in body["ingredients"]] == ["723", "48203"]
    assert body["signed_at"] and body["signed_by"] == str(clinic.physician_user.id)
    assert body["prescriber_id"] == str(practitioner.id)
    assert body["quantity"] == {"value": "20", "unit": "{tablet}"}
    assert body["remaining_quantity"] == "40"
    assert body["indication"]["code"] == "J01.90"
    assert body["knowledge_version"] == "2026.1"
    read = clinic.client.get(f"/api/v1/prescriptions/{body['id']}", headers=clinic.pharmacist)
    assert read.status_code == 200 and read.json()["status"] == "active"
    events = clinic.audit("prescription.sign") + clinic.audit("prescription.read")
    assert [e.patient_id for e in events] == [clinic.patient.id, clinic.patient.id]


def test_critical_interaction_blocks_with_findings_then_an_override_signs_it(
    clinic: Clinic,
) -> None:
    phenelzine = clinic.active("8123", dose="15 mg", frequency="TID")
    before = clinic.counts()

    blocked = clinic.prescribe(medication="36437", dose="50 mg")

    assert blocked.status_code == 409, blocked.text
    assert blocked.headers["content-type"].startswith("application/problem+json")
    problem = blocked.json()
    assert problem["type"] == "urn:emr:problem:prescription-blocked"
    [finding] = problem["findings"]
    assert finding["severity"] == "critical" and finding["kind"] == "interaction"
    assert finding["rule_id"] == "onc-ssri-maoi"
    assert finding["drug"]["code"] == "36437"
    assert finding["interacting_drug"] == {
        "system": RXNORM,
        "code": "8123",
        "display": "phenelzine",
    }
    assert finding["interacting_prescription_id"] == phenelzine["id"]
    assert "serotonin syndrome" in finding["rationale"]
    assert clinic.counts() == before

    nurse_override = clinic.prescribe(
        clinic.nurse, medication="36437", dose="50 mg", override_reason="cross-taper"
    )
    assert nurse_override.status_code == 403
    assert clinic.counts() == before

    overridden = clinic.prescribe(
        medication="36437", dose="50 mg", override_reason="Supervised cross-taper, psychiatry"
    )

    assert overridden.status_code == 201, overridden.text
    body = overridden.json()
    assert body["status"] == "active"
    assert body["override"]["reason"] == "Supervised cross-taper, psychiatry"
    assert body["override"]["by"] == str(clinic.physician_user.id)
    assert [(f["rule_id"], f["overridden"]) for f in body["findings"]] == [("onc-ssri-maoi", True)]
    [event] = clinic.audit("prescription.override")
    assert event.patient_id == clinic.patient.id and event.detail["rules"] == ["onc-ssri-maoi"]
    stored = clinic.client.get(f"/api/v1/prescriptions/{body['id']}", headers=clinic.physician)
    assert stored.json()["findings"][0]["overridden"] is True


def test_penicillin_allergy_blocks_amoxicillin_and_warns_on_a_cephalosporin(
    clinic: Clinic,
) -> None:
    allergy = clinic.allergy(RXNORM, "7984")

    amoxicillin = clinic.prescribe(medication="562251", dose="1 tablet", frequency="BID")
    assert amoxicillin.status_code == 409
    [finding] = amoxicillin.json()["findings"]
    assert (finding["kind"], finding["severity"], finding["rule_id"]) == (
        "allergy",
        "critical",
        "allergy-same-class",
    )
    assert finding["allergy"]["id"] == allergy["id"]
    assert finding["allergy"]["substance"]["code"] == "7984"
    assert finding["drug"]["code"] == "723"

    cephalexin = clinic.prescribe(medication="2231", dose="500 mg", frequency="QID")

    assert cephalexin.status_code == 201, cephalexin.text
    [warning] = cephalexin.json()["findings"]
    assert (warning["severity"], warning["rule_id"]) == ("major", "xr-penicillin-cephalosporin")
    assert "R1 side chain" in warning["rationale"] and warning["overridden"] is False
    assert "practice parameter" in warning["source"]


def test_snomed_substance_allergies_map_to_classes_and_ingredients(clinic: Clinic) -> None:
    clinic.allergy(SNOMED, "764146007")
    clinic.allergy(SNOMED, "387458008", severity="moderate")

    assert clinic.prescribe(medication="733", dose="500 mg").status_code == 409
    ibuprofen = clinic.prescribe(medication="5640", dose="400 mg", frequency="q8h PRN")
    assert ibuprofen.status_code == 201
    assert [f["rule_id"] for f in ibuprofen.json()["findings"]] == ["xr-nsaid-nsaid"]
    assert clinic.prescribe(medication="1191", dose="81 mg").status_code == 409


def test_duplicate_therapy_and_major_interactions_come_back_with_the_201(clinic: Clinic) -> None:
    clinic.active("11289", dose="5 mg")
    clinic.active("29046")

    duplicate = clinic.prescribe(medication="11289", dose="2 mg")
    naproxen = clinic.prescribe(medication="7258", dose="220 mg", frequency="BID")

    assert duplicate.status_code == 201 and naproxen.status_code == 201
    assert [(f["kind"], f["severity"]) for f in duplicate.json()["findings"]] == [
        ("duplicate", "major")
    ]
    assert {f["rule_id"] for f in naproxen.json()["findings"]} == {"ddi-warfarin-nsaid"}


def test_a_draft_is_saved_unchecked_and_checked_when_signed(clinic: Clinic) -> None:
    clinic.active("136411", dose="50 mg", frequency="PRN")
    draft = clinic.prescribe(medication="4917", dose="0.4 mg", route="SL", status="draft")
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    assert draft.json()["findings"] == [] and draft.json()["signed_at"] is None
    url = f"/api/v1/prescriptions/{draft.json()['id']}/sign"
    before = clinic.counts()

    assert clinic.client.post(url, headers=clinic.nurse).status_code == 403
    blocked = clinic.client.post(url, headers=clinic.physician)
    assert blocked.status_code == 409
    assert blocked.json()["findings"][0]["rule_id"] == "ddi-pde5-nitrate"
    assert clinic.counts() == before
    signed = clinic.client.post(
        url, json={"override_reason": "Sildenafil stopped last week"}, headers=clinic.physician
    )

    assert signed.status_code == 200 and signed.json()["status"] == "active"
    assert clinic.client.post(url, headers=clinic.physician).status_code == 409


def test_a_nurse_post_is_a_draft_for_a_prescriber_to_sign(clinic: Clinic) -> None:
    pended = clinic.prescribe(clinic.nurse, medication="29046")

    assert pended.status_code == 201 and pended.json()["status"] == "draft"
    assert clinic.prescribe(clinic.nurse, medication="29046", status="active").status_code == 403


def test_workflow_transitions_are_enforced_with_reasons(clinic: Clinic) -> None:
    first = clinic.active("29046")
    url = f"/api/v1/prescriptions/{first['id']}"
    sent = clinic.client.post(f"{url}/send", headers=clinic.physician)
    assert sent.status_code == 200 and sent.json()["status"] == "sent" and sent.json()["sent_at"]
    assert clinic.client.post(f"{url}/send", headers=clinic.physician).status_code == 409
    no_reason = clinic.client.post(f"{url}/stop", headers=clinic.physician)
    assert no_reason.status_code == 422
    stopped = clinic.client.post(
        f"{url}/stop", json={"reason": "Cough on ACE inhibitor"}, headers=clinic.physician
    )
    assert stopped.json()["status"] == "stopped"
    assert stopped.json()["stop_reason"] == "Cough on ACE inhibitor"
    assert stopped.json()["stopped_by"] == str(clinic.physician_user.id)
    for action in ("send", "cancel", "stop"):
        again = clinic.client.post(
            f"{url}/{action}", json={"reason": "again"}, headers=clinic.physician
        )
        assert again.status_code == 409, action

    second = clinic.active("17767", dose="5 mg")
    cancelled = clinic.client.post(
        f"/api/v1/prescriptions/{second['id']}/cancel",
        json={"reason": "Entered for the wrong patient"},
        headers=clinic.physician,
    )
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancelled_at"]
    assert [e.resource_id for e in clinic.audit("prescription.cancel")] == [second["id"]]


def test_the_medication_list_holds_only_what_the_patient_takes(clinic: Clinic) -> None:
    kept = clinic.active("29046")
    stopped = clinic.active("17767", dose="5 mg")
    clinic.client.post(
        f"/api/v1/prescriptions/{stopped['id']}/stop",
        json={"reason": "Ankle oedema"},
        headers=clinic.physician,
    )
    clinic.prescribe(medication="6809", dose="500 mg", status="draft")

    listed = clinic.client.get(
        f"/api/v1/patients/{clinic.patient.id}/medications", headers=clinic.nurse
    )

    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()] == [kept["id"]]
    assert clinic.audit("medication.list")[0].patient_id == clinic.patient.id


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"medication": "99999999"}, "unknown RxNorm code"),
        ({"medication": {"system": "http://loinc.org", "code": "4548-4"}}, "not accepted"),
        ({"medication": "1151"}, "unknown RxNorm code"),
        ({"medication": "161", "dose": "500"}, "needs a unit"),
        ({"medication": "161", "dose": {"value": "500"}}, "needs a unit"),
        ({"medication": "161", "dose": "0 mg"}, "positive"),
        ({"medication": "161", "dose": "-5 mg"}, "positive amount"),
        ({"medication": "161", "dose": "5 furlongs"}, "not a known UCUM unit"),
        ({"medication": "161", "refills": -1}, "refills"),
        ({"medication": "161", "route": "through the ear canal backwards"}, "unknown route"),
        ({"medication": "161", "frequency": "now and then"}, "unknown frequency"),
        ({"medication": "161", "duration_days": 0}, "duration_days"),
        ({"medication": "161", "quantity": "0"}, "positive"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    clinic: Clinic, body: dict[str, Any], message: str
) -> None:
    before = clinic.counts()

    response = clinic.prescribe(**body)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert message.lower() in response.json()["detail"].lower()
    assert clinic.counts() == before


def test_another_tenants_prescription_and_patient_answer_404(
    clinic: Clinic, client: TestClient, database: Database
) -> None:
    mine = clinic.active("29046")
    other = Clinic(client, database)
    before = other.counts()

    assert (
        client.get(f"/api/v1/prescriptions/{mine['id']}", headers=other.physician).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/prescriptions/{mine['id']}/stop",
            json={"reason": "x"},
            headers=other.physician,
        ).status_code
        == 404
    )
    foreign = client.post(
        f"/api/v1/patients/{clinic.patient.id}/prescriptions",
        json={"medication": rx("161"), "dose": "1 g", "route": "PO", "frequency": "daily"},
        headers=other.physician,
    )
    assert foreign.status_code == 404
    assert other.counts() == before
    assert (
        clinic.client.get(f"/api/v1/prescriptions/{mine['id']}", headers=clinic.physician).json()[
            "status"
        ]
        == "active"
    )
