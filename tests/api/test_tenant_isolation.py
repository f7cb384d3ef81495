import uuid

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.factories.identity import bearer, make_tenant, make_user
from transactional.database import Database
from transactional.identity.roles import Role
from transactional.tenancy import bind_tenant

UNAUTHENTICATED_ROUTES = {"/api/v1/auth/token", "/api/v1/auth/refresh"}


def test_another_tenants_user_is_a_404_not_a_403(client: TestClient, database: Database) -> None:
    a, b = make_tenant(database=database), make_tenant(database=database)
    admin_a = make_user(database=database, tenant=a, role=Role.ADMIN)
    user_b = make_user(database=database, tenant=b, role=Role.NURSE)
    headers = bearer(client, tenant=a, user=admin_a)

    for method, path, body in (
        ("GET", f"/api/v1/users/{user_b.id}", None),
        ("PATCH", f"/api/v1/users/{user_b.id}", {"display_name": "renamed"}),
        ("POST", f"/api/v1/users/{user_b.id}/unlock", None),
    ):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 404, (method, path)
        assert response.json()["type"] == "urn:emr:problem:not-found"
    missing = client.get(f"/api/v1/users/{uuid.uuid4()}", headers=headers)
    assert missing.json() == client.get(f"/api/v1/users/{user_b.id}", headers=headers).json() | {
        "instance": missing.json()["instance"]
    }
    listed = client.get("/api/v1/users", headers=headers).json()["items"]
    assert {item["id"] for item in listed} == {str(admin_a.id)}


def test_audit_listing_shows_only_the_callers_tenant(
    client: TestClient, database: Database
) -> None:
    a, b = make_tenant(database=database), make_tenant(database=database)
    admin_a = make_user(database=database, tenant=a, role=Role.ADMIN)
    admin_b = make_user(database=database, tenant=b, role=Role.ADMIN)
    bearer(client, tenant=b, user=admin_b)
    events = client.get(
        "/api/v1/audit-events", headers=bearer(client, tenant=a, user=admin_a)
    ).json()
    assert events["items"]
    actors = {item["actor_user_id"] for item in events["items"]}
    assert str(admin_b.id) not in actors


def test_permission_denial_is_403_and_audited(client: TestClient, database: Database) -> None:
    tenant = make_tenant(database=database)
    receptionist = make_user(database=database, tenant=tenant, role=Role.RECEPTIONIST)
    headers = bearer(client, tenant=tenant, user=receptionist)
    response = client.get("/api/v1/audit-events", headers=headers)
    assert response.status_code == 403
    assert response.json()["type"] == "urn:emr:problem:forbidden"
    assert "audit.read" in response.json()["detail"]
    creation = client.post(
        "/api/v1/users",
        json={"email": "new@example.org", "role": "admin", "password": "a-long-password-1"},
        headers=headers,
    )
    assert creation.status_code == 403
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        denials = session.execute(
            text(
                "SELECT actor_user_id, outcome, detail FROM audit_events "
                "WHERE action = 'permission.denied'"
            )
        ).all()
        created = session.execute(
            text("SELECT count(*) FROM users WHERE email = 'new@example.org'")
        ).scalar()
    assert [(row.actor_user_id, row.outcome) for row in denials] == [
        (receptionist.id, "denied")
    ] * 2
    assert {row.detail["permission"] for row in denials} == {"audit.read", "user.manage"}
    assert created == 0


def test_every_api_route_checks_a_permission(app: FastAPI) -> None:
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/api/"):
            continue
        if route.path in UNAUTHENTICATED_ROUTES:
            continue
        required = [
            getattr(dependency.call, "required_permission", None)
            for dependency in route.dependant.dependencies
        ]
        assert any(required), f"{route.path} has no permission dependency"


def test_admin_manages_users_of_its_tenant(client: TestClient, database: Database) -> None:
    tenant = make_tenant(database=database)
    admin = make_user(database=database, tenant=tenant, role=Role.ADMIN)
    headers = bearer(client, tenant=tenant, user=admin)
    created = client.post(
        "/api/v1/users",
        json={"email": "Lab.Tech@Example.org", "role": "lab_tech", "password": "a-long-password-1"},
        headers=headers,
    )
    assert created.status_code == 201
    body = created.json()
    assert body["email"] == "lab.tech@example.org" and body["role"] == "lab_tech"
    assert "password" not in body and "password_hash" not in body
    duplicate = client.post(
        "/api/v1/users",
        json={"email": "lab.tech@example.org", "role": "nurse", "password": "a-long-password-2"},
        headers=headers,
    )
    assert duplicate.status_code == 409
    weak = client.post(
        "/api/v1/users",
        json={"email": "weak@example.org", "role": "nurse", "password": "short"},
        headers=headers,
    )
    assert weak.status_code == 422
    assert weak.json()["type"] == "urn:emr:problem:invalid-input"
    promoted = client.patch(
        f"/api/v1/users/{body['id']}", json={"role": "physician"}, headers=headers
    )
    assert promoted.json()["role"] == "physician"
    self_demotion = client.patch(
        f"/api/v1/users/{admin.id}", json={"role": "nurse"}, headers=headers
    )
    assert self_demotion.status_code == 409


def test_user_list_is_cursor_paginated(client: TestClient, database: Database) -> None:
    tenant = make_tenant(database=database)
    admin = make_user(database=database, tenant=tenant, role=Role.ADMIN)
    for _ in range(4):
        make_user(database=database, tenant=tenant, role=Role.NURSE)
    headers = bearer(client, tenant=tenant, user=admin)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/users", params=params, headers=headers).json()
        seen += [item["email"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(seen)
