import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.factories.identity import bearer, make_tenant, make_user
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.identity.roles import Role
from transactional.tenancy import bind_tenant

NEW = {"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1985-12-10", "sex": "female"}


@pytest.fixture
def tenant(database: Database) -> Tenant:
    return make_tenant(database=database)


@pytest.fixture
def front_desk(client: TestClient, database: Database, tenant: Tenant) -> dict[str, str]:
    return bearer(
        client,
        tenant=tenant,
        user=make_user(database=database, tenant=tenant, role=Role.RECEPTIONIST),
    )


def _audit(database: Database, tenant: Tenant) -> list[tuple[str, uuid.UUID | None]]:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        rows = session.execute(
            text("SELECT action, patient_id FROM audit_events ORDER BY occurred_at")
        ).all()
    return [(row.action, row.patient_id) for row in rows]


def _count(database: Database, tenant: Tenant) -> int:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return int(session.execute(text("SELECT count(*) FROM patients")).scalar_one())


def test_register_returns_id_and_mrn_and_reads_back(
    client: TestClient, database: Database, tenant: Tenant, front_desk: dict[str, str]
) -> None:
    body = NEW | {
        "phone": "+1 (555) 201-3344",
        "address": {
            "line1": "12 Analytical Way",
            "city": "London",
            "postal_code": "N1 9GU",
            "country": "gb",
        },
        "emergency_contact": {"name": "W. King", "relationship": "spouse", "phone": "555 201 3345"},
        "identifiers": [
            {"system": "urn:oid:2.16.840.1.113883.4.3.36", "value": "D99", "type_code": "DL"}
        ],
        "ssn": "123-45-6789",
    }
    created = client.post("/api/v1/patients", json=body, headers=front_desk)
    assert created.status_code == 201, created.text
    patient = created.json()
    assert uuid.UUID(patient["id"]) and patient["mrn"] == "1000-0016"
    assert patient["ssn"] == "***-**-6789" and "123-45-6789" not in created.text
    assert patient["address"]["country"] == "GB"
    read = client.get(f"/api/v1/patients/{patient['id']}", headers=front_desk).json()
    assert read == patient
    assert [a for a in _audit(database, tenant) if a[0].startswith("patient.")] == [
        ("patient.create", uuid.UUID(patient["id"])),
        ("patient.read", uuid.UUID(patient["id"])),
    ]


@pytest.mark.parametrize(
    "override",
    [
        {"birth_date": "2023-02-30"},
        {"birth_date": "2999-01-01"},
        {"birth_date": "yesterday"},
        {"sex": "M"},
        {"given_name": ""},
        {"family_name": None},
        {"nickname": "Ada"},
        {"ssn": "666-12-3456"},
        {"phone": "call me"},
    ],
)
def test_bad_registrations_are_4xx_problems_and_write_nothing(
    client: TestClient,
    database: Database,
    tenant: Tenant,
    front_desk: dict[str, str],
    override: dict[str, object],
) -> None:
    response = client.post("/api/v1/patients", json=NEW | override, headers=front_desk)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert _count(database, tenant) == 0


def test_patch_changes_only_what_is_given(client: TestClient, front_desk: dict[str, str]) -> None:
    patient = client.post(
        "/api/v1/patients", json=NEW | {"phone": "555-201-0000"}, headers=front_desk
    ).json()
    patched = client.patch(
        f"/api/v1/patients/{patient['id']}",
        json={"family_name": "King", "address": {"city": "Ockham"}},
        headers=front_desk,
    )
    assert patched.status_code == 200
    body = patched.json()
    assert (body["family_name"], body["given_name"], body["phone"]) == (
        "King",
        "Ada",
        "555-201-0000",
    )
    assert body["address"]["city"] == "Ockham" and body["version"] == patient["version"] + 1
    cleared = client.patch(
        f"/api/v1/patients/{patient['id']}", json={"phone": None}, headers=front_desk
    )
    assert cleared.json()["phone"] is None
    assert (
        client.patch(
            f"/api/v1/patients/{patient['id']}", json={"family_name": None}, headers=front_desk
        ).status_code
        == 422
    )
    assert (
        client.patch(
            f"/api/v1/patients/{patient['id']}",
            json={"birth_date": "2999-01-01"},
            headers=front_desk,
        ).status_code
        == 422
    )


def test_soft_delete_hides_the_patient(client: TestClient, front_desk: dict[str, str]) -> None:
    patient = client.post("/api/v1/patients", json=NEW, headers=front_desk).json()
    assert client.delete(f"/api/v1/patients/{patient['id']}", headers=front_desk).status_code == 204
    assert client.get(f"/api/v1/patients/{patient['id']}", headers=front_desk).status_code == 404
    assert (
        client.get("/api/v1/patients", params={"q": "lovelace"}, headers=front_desk).json()["items"]
        == []
    )
    assert client.delete(f"/api/v1/patients/{patient['id']}", headers=front_desk).status_code == 404


def test_search_contract_with_cursor(client: TestClient, front_desk: dict[str, str]) -> None:
    ids = [
        client.post(
            "/api/v1/patients", json=NEW | {"given_name": f"Ada{i}"}, headers=front_desk
        ).json()["id"]
        for i in range(3)
    ]
    first = client.get(
        "/api/v1/patients", params={"q": "lovelace", "limit": 2}, headers=front_desk
    ).json()
    assert set(first) == {"items", "next_cursor"} and len(first["items"]) == 2
    second = client.get(
        "/api/v1/patients",
        params={"q": "lovelace", "limit": 2, "cursor": first["next_cursor"]},
        headers=front_desk,
    ).json()
    assert second["next_cursor"] is None
    assert [p["id"] for p in first["items"] + second["items"]] == ids
    by_date = client.get(
        "/api/v1/patients", params={"birth_date": "1985-12-10"}, headers=front_desk
    ).json()
    assert len(by_date["items"]) == 3
    mrn = first["items"][0]["mrn"]
    assert [
        p["mrn"]
        for p in client.get("/api/v1/patients", params={"mrn": mrn}, headers=front_desk).json()[
            "items"
        ]
    ] == [mrn]
    assert (
        client.get("/api/v1/patients", params={"mrn": "1234-5678"}, headers=front_desk).status_code
        == 422
    )


def test_ssn_is_disclosed_only_to_permitted_roles_and_audited(
    client: TestClient, database: Database, tenant: Tenant, front_desk: dict[str, str]
) -> None:
    patient = client.post(
        "/api/v1/patients", json=NEW | {"ssn": "123456789"}, headers=front_desk
    ).json()
    assert (
        client.get(f"/api/v1/patients/{patient['id']}/ssn", headers=front_desk).status_code == 403
    )
    billing = bearer(
        client, tenant=tenant, user=make_user(database=database, tenant=tenant, role=Role.BILLING)
    )
    disclosed = client.get(f"/api/v1/patients/{patient['id']}/ssn", headers=billing)
    assert disclosed.json() == {"ssn": "123-45-6789"}
    assert ("patient.ssn.read", uuid.UUID(patient["id"])) in _audit(database, tenant)
    found = client.post(
        "/api/v1/patients/search", json={"ssn": "123-45-6789"}, headers=front_desk
    ).json()
    assert [p["id"] for p in found["items"]] == [patient["id"]]
    duplicate = client.post(
        "/api/v1/patients", json=NEW | {"ssn": "123-45-6789"}, headers=front_desk
    )
    assert duplicate.status_code == 409


def test_merge_through_the_api(
    client: TestClient, database: Database, tenant: Tenant, front_desk: dict[str, str]
) -> None:
    survivor = client.post("/api/v1/patients", json=NEW, headers=front_desk).json()
    duplicate = client.post(
        "/api/v1/patients",
        json=NEW | {"identifiers": [{"system": "urn:x", "value": "1"}]},
        headers=front_desk,
    ).json()
    assert (
        client.post(
            f"/api/v1/patients/{survivor['id']}/merge",
            json={"duplicate_id": duplicate["id"]},
            headers=front_desk,
        ).status_code
        == 403
    )
    admin = bearer(
        client, tenant=tenant, user=make_user(database=database, tenant=tenant, role=Role.ADMIN)
    )
    merged = client.post(
        f"/api/v1/patients/{survivor['id']}/merge",
        json={"duplicate_id": duplicate["id"]},
        headers=admin,
    )
    assert merged.status_code == 200
    assert merged.json()["identifiers"] == [{"system": "urn:x", "value": "1", "type_code": None}]
    assert (
        client.get(f"/api/v1/patients/{duplicate['id']}", headers=front_desk).json()["id"]
        == survivor["id"]
    )
    by_mrn = client.get(
        "/api/v1/patients", params={"mrn": duplicate["mrn"]}, headers=front_desk
    ).json()
    assert [p["id"] for p in by_mrn["items"]] == [survivor["id"]]
    again = client.post(
        f"/api/v1/patients/{survivor['id']}/merge",
        json={"duplicate_id": duplicate["id"]},
        headers=admin,
    )
    assert again.status_code == 409


def test_another_tenant_never_sees_our_patients(
    client: TestClient, database: Database, tenant: Tenant, front_desk: dict[str, str]
) -> None:
    patient = client.post("/api/v1/patients", json=NEW, headers=front_desk).json()
    other = make_tenant(database=database)
    theirs = bearer(
        client, tenant=other, user=make_user(database=database, tenant=other, role=Role.ADMIN)
    )
    for method, path, body in (
        ("GET", f"/api/v1/patients/{patient['id']}", None),
        ("PATCH", f"/api/v1/patients/{patient['id']}", {"given_name": "X"}),
        ("DELETE", f"/api/v1/patients/{patient['id']}", None),
        ("POST", f"/api/v1/patients/{patient['id']}/merge", {"duplicate_id": patient["id"]}),
    ):
        response = client.request(method, path, json=body, headers=theirs)
        assert response.status_code in (404, 422) and response.status_code != 403, (method, path)
    for params in ({"q": "lovelace"}, {"mrn": patient["mrn"]}, {"birth_date": "1985-12-10"}):
        assert client.get("/api/v1/patients", params=params, headers=theirs).json()["items"] == []
    assert _count(database, other) == 0
