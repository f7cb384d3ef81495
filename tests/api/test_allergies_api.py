import pytest
from fastapi.testclient import TestClient

from tests.factories.identity import bearer, make_tenant, make_user
from tests.factories.patients import make_patient
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.identity.roles import Role

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"


@pytest.fixture
def tenant(database: Database) -> Tenant:
    return make_tenant(database=database)


def test_allergy_contract_coded_substance_severity_reaction(
    client: TestClient, database: Database, tenant: Tenant
) -> None:
    nurse = bearer(
        client, tenant=tenant, user=make_user(database=database, tenant=tenant, role=Role.NURSE)
    )
    patient = make_patient(database=database, tenant=tenant)
    url = f"/api/v1/patients/{patient.id}/allergies"
    penicillin = client.post(
        url,
        json={
            "substance": {"system": RXNORM, "code": "7984"},
            "severity": "severe",
            "reaction": "anaphylaxis",
        },
        headers=nurse,
    )
    assert penicillin.status_code == 201, penicillin.text
    body = penicillin.json()
    assert body["substance"]["system"] == RXNORM and body["substance"]["display"]
    assert (body["category"], body["severity"], body["reaction"], body["status"]) == (
        "medication",
        "severe",
        "anaphylaxis",
        "active",
    )
    peanut = client.post(
        url,
        json={
            "substance": {"system": SNOMED, "code": "762952008"},
            "severity": "moderate",
            "category": "food",
        },
        headers=nurse,
    )
    assert peanut.status_code == 201, peanut.text
    assert (
        client.post(
            url,
            json={"substance": {"system": RXNORM, "code": "7984"}, "severity": "mild"},
            headers=nurse,
        ).status_code
        == 409
    )
    assert [a["substance"]["code"] for a in client.get(url, headers=nurse).json()] == [
        "7984",
        "762952008",
    ]
    resolved = client.patch(
        f"/api/v1/allergies/{body['id']}", json={"status": "entered_in_error"}, headers=nurse
    ).json()
    assert resolved["status"] == "entered_in_error"
    assert (
        client.patch(
            f"/api/v1/allergies/{body['id']}", json={"status": "active"}, headers=nurse
        ).status_code
        == 409
    )


@pytest.mark.parametrize(
    "body",
    [
        {"substance": {"system": RXNORM, "code": "99999999"}, "severity": "mild"},
        {"substance": {"system": "http://loinc.org", "code": "8480-6"}, "severity": "mild"},
        {"substance": {"system": RXNORM, "code": "723"}, "severity": "deadly"},
        {"substance": {"system": RXNORM, "code": "723"}},
        {
            "substance": {"system": RXNORM, "code": "723"},
            "severity": "mild",
            "onset_date": "2999-01-01",
        },
        {"substance": "penicillin", "severity": "mild"},
    ],
)
def test_bad_allergies_are_rejected(
    client: TestClient, database: Database, tenant: Tenant, body: dict[str, object]
) -> None:
    nurse = bearer(
        client, tenant=tenant, user=make_user(database=database, tenant=tenant, role=Role.NURSE)
    )
    patient = make_patient(database=database, tenant=tenant)
    response = client.post(f"/api/v1/patients/{patient.id}/allergies", json=body, headers=nurse)
    assert response.status_code == 422, response.text
    assert client.get(f"/api/v1/patients/{patient.id}/allergies", headers=nurse).json() == []


def test_receptionists_cannot_read_allergies_and_other_tenants_get_404(
    client: TestClient, database: Database, tenant: Tenant
) -> None:
    patient = make_patient(database=database, tenant=tenant)
    desk = bearer(
        client,
        tenant=tenant,
        user=make_user(database=database, tenant=tenant, role=Role.RECEPTIONIST),
    )
    assert client.get(f"/api/v1/patients/{patient.id}/allergies", headers=desk).status_code == 403
    other = make_tenant(database=database)
    theirs = bearer(
        client, tenant=other, user=make_user(database=database, tenant=other, role=Role.NURSE)
    )
    response = client.post(
        f"/api/v1/patients/{patient.id}/allergies",
        json={"substance": {"system": RXNORM, "code": "723"}, "severity": "mild"},
        headers=theirs,
    )
    assert response.status_code == 404
