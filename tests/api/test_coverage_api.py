import pytest
from fastapi.testclient import TestClient

from tests.factories.identity import bearer, make_tenant, make_user
from tests.factories.patients import make_patient
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.identity.roles import Role


@pytest.fixture
def tenant(database: Database) -> Tenant:
    return make_tenant(database=database)


def test_front_desk_records_primary_and_secondary_coverage(
    client: TestClient, database: Database, tenant: Tenant
) -> None:
    billing = bearer(
        client, tenant=tenant, user=make_user(database=database, tenant=tenant, role=Role.BILLING)
    )
    desk = bearer(
        client,
        tenant=tenant,
        user=make_user(database=database, tenant=tenant, role=Role.RECEPTIONIST),
    )
    payer = client.post(
        "/api/v1/payers", json={"name": "Acme Health", "payer_type": "commercial"}, headers=billing
    )
    assert payer.status_code == 201
    medicare = client.post(
        "/api/v1/payers", json={"name": "Medicare", "payer_type": "medicare"}, headers=billing
    ).json()
    assert (
        client.post(
            "/api/v1/payers",
            json={"name": "Acme Health", "payer_type": "commercial"},
            headers=billing,
        ).status_code
        == 409
    )
    assert (
        client.post(
            "/api/v1/payers", json={"name": "X", "payer_type": "commercial"}, headers=desk
        ).status_code
        == 403
    )
    assert [p["name"] for p in client.get("/api/v1/payers", headers=desk).json()] == [
        "Acme Health",
        "Medicare",
    ]

    patient = make_patient(database=database, tenant=tenant)
    url = f"/api/v1/patients/{patient.id}/coverages"
    primary = {
        "payer_id": payer.json()["id"],
        "member_id": "ACM123",
        "period_start": "2026-01-01",
        "plan_name": "Gold PPO",
    }
    assert client.post(url, json=primary, headers=desk).status_code == 201
    clash = client.post(url, json=primary | {"member_id": "OTHER"}, headers=desk)
    assert clash.status_code == 409
    secondary = client.post(
        url,
        json={
            "payer_id": medicare["id"],
            "member_id": "1EG4TE5MK72",
            "period_start": "2026-03-01",
            "priority": 2,
        },
        headers=desk,
    )
    assert secondary.status_code == 201
    listed = client.get(url, headers=desk).json()
    assert [(c["priority"], c["member_id"]) for c in listed] == [(2, "1EG4TE5MK72"), (1, "ACM123")]

    ended = client.patch(
        f"/api/v1/coverages/{secondary.json()['id']}",
        json={"period_end": "2026-06-30"},
        headers=desk,
    )
    assert ended.json()["period_end"] == "2026-06-30"
    backwards = client.patch(
        f"/api/v1/coverages/{secondary.json()['id']}",
        json={"period_end": "2025-01-01"},
        headers=desk,
    )
    assert backwards.status_code == 422


@pytest.mark.parametrize(
    "override",
    [
        {"period_end": "2025-12-31"},
        {"priority": 0},
        {"member_id": ""},
        {"subscriber_relationship": "cousin"},
        {"period_start": "2026-02-30"},
    ],
)
def test_bad_coverage_is_rejected(
    client: TestClient, database: Database, tenant: Tenant, override: dict[str, object]
) -> None:
    billing = bearer(
        client, tenant=tenant, user=make_user(database=database, tenant=tenant, role=Role.BILLING)
    )
    payer = client.post(
        "/api/v1/payers", json={"name": "P", "payer_type": "other"}, headers=billing
    ).json()
    patient = make_patient(database=database, tenant=tenant)
    body = {"payer_id": payer["id"], "member_id": "M1", "period_start": "2026-01-01"} | override
    desk = bearer(
        client,
        tenant=tenant,
        user=make_user(database=database, tenant=tenant, role=Role.RECEPTIONIST),
    )
    response = client.post(f"/api/v1/patients/{patient.id}/coverages", json=body, headers=desk)
    assert response.status_code == 422
    assert client.get(f"/api/v1/patients/{patient.id}/coverages", headers=desk).json() == []


def test_another_tenants_payer_cannot_be_used(
    client: TestClient, database: Database, tenant: Tenant
) -> None:
    other = make_tenant(database=database)
    their_billing = bearer(
        client, tenant=other, user=make_user(database=database, tenant=other, role=Role.BILLING)
    )
    their_payer = client.post(
        "/api/v1/payers", json={"name": "Theirs", "payer_type": "other"}, headers=their_billing
    ).json()
    patient = make_patient(database=database, tenant=tenant)
    desk = bearer(
        client,
        tenant=tenant,
        user=make_user(database=database, tenant=tenant, role=Role.RECEPTIONIST),
    )
    response = client.post(
        f"/api/v1/patients/{patient.id}/coverages",
        json={"payer_id": their_payer["id"], "member_id": "M1", "period_start": "2026-01-01"},
        headers=desk,
    )
    assert response.status_code == 422
    assert (
        client.get(f"/api/v1/patients/{patient.id}/coverages", headers=their_billing).status_code
        == 404
    )
