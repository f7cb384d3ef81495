from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.factories.identity import bearer, make_tenant, make_user
from transactional.database import Database
from transactional.identity.roles import Role


def test_audit_events_are_paginated_newest_first(client: TestClient, database: Database) -> None:
    tenant = make_tenant(database=database)
    admin = make_user(database=database, tenant=tenant, role=Role.ADMIN)
    headers = bearer(client, tenant=tenant, user=admin)
    for _ in range(3):
        bearer(client, tenant=tenant, user=admin)
    first = client.get("/api/v1/audit-events", params={"limit": 2}, headers=headers).json()
    second = client.get(
        "/api/v1/audit-events", params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
    ).json()
    page = first["items"] + second["items"]
    times = [item["occurred_at"] for item in page]
    assert times == sorted(times, reverse=True) and len({item["id"] for item in page}) == 4
    logins = client.get(
        "/api/v1/audit-events", params={"action": "auth.login"}, headers=headers
    ).json()
    assert {item["action"] for item in logins["items"]} == {"auth.login"}
    assert logins["items"][0]["client_address"] == "203.0.113.7"


def test_verify_reports_the_first_altered_event(
    client: TestClient, database: Database, owner_engine: Engine
) -> None:
    tenant = make_tenant(database=database)
    admin = make_user(database=database, tenant=tenant, role=Role.ADMIN)
    headers = bearer(client, tenant=tenant, user=admin)
    clean = client.get("/api/v1/audit-events/verify", headers=headers).json()
    assert clean["valid"] is True and clean["first_broken"] is None
    with owner_engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        target = connection.execute(
            text(
                "UPDATE audit_events SET outcome = 'failure' WHERE id = ("
                "SELECT id FROM audit_events WHERE tenant_id = :t ORDER BY occurred_at LIMIT 1) "
                "RETURNING id, chain, seq"
            ),
            {"t": tenant.id},
        ).one()
    broken = client.get("/api/v1/audit-events/verify", headers=headers).json()
    assert broken["valid"] is False
    assert broken["first_broken"]["id"] == str(target.id)
    assert (broken["first_broken"]["chain"], broken["first_broken"]["seq"]) == (
        target.chain,
        target.seq,
    )
