import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.services import Services
from tests.factories.identity import PASSWORD, bearer, make_tenant, make_user, sign_in
from transactional.database import Database
from transactional.identity.models import Tenant, User
from transactional.identity.roles import Role
from transactional.settings import Settings
from transactional.tenancy import bind_tenant


@pytest.fixture
def tenant(database: Database) -> Tenant:
    return make_tenant(database=database)


@pytest.fixture
def user(database: Database, tenant: Tenant) -> User:
    return make_user(database=database, tenant=tenant, role=Role.PHYSICIAN)


def _audit_actions(database: Database, tenant: Tenant) -> list[tuple[str, str]]:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        rows = session.execute(
            text("SELECT action, outcome FROM audit_events ORDER BY occurred_at")
        ).all()
    return [(row.action, row.outcome) for row in rows]


def test_password_grant_returns_the_contract_fields(
    client: TestClient, tenant: Tenant, user: User, services: Services
) -> None:
    response = sign_in(client, tenant=tenant, user=user)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == services.settings.access_token_minutes * 60
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["user"]["email"] == user.email
    assert "note.sign" in me.json()["permissions"]


def test_wrong_password_is_a_401_problem_and_is_audited(
    client: TestClient, database: Database, tenant: Tenant, user: User
) -> None:
    response = sign_in(client, tenant=tenant, user=user, password="wrong-password-123")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:emr:problem:invalid-credentials"
    assert ("auth.login", "failure") in _audit_actions(database, tenant)


def test_unknown_tenant_and_unknown_user_answer_like_a_wrong_password(
    client: TestClient, tenant: Tenant
) -> None:
    bodies = [
        client.post(
            "/api/v1/auth/token",
            data={"username": "nobody@example.org", "password": "x" * 12, "tenant": slug},
        ).json()
        for slug in (tenant.slug, "no-such-clinic")
    ]
    assert bodies[0]["type"] == bodies[1]["type"] == "urn:emr:problem:invalid-credentials"
    assert bodies[0]["detail"] == bodies[1]["detail"]


def test_login_success_is_audited_with_client_address(
    client: TestClient, database: Database, tenant: Tenant, user: User
) -> None:
    sign_in(client, tenant=tenant, user=user)
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        row = session.execute(
            text("SELECT * FROM audit_events WHERE action = 'auth.login' AND outcome = 'success'")
        ).one()
    assert row.actor_user_id == user.id
    assert str(row.client_address) == "203.0.113.7"
    assert row.user_agent == "testclient"


def test_account_locks_after_repeated_failures_until_unlocked(
    client: TestClient, database: Database, tenant: Tenant, user: User, services: Services
) -> None:
    threshold = services.settings.lockout_threshold
    for _ in range(threshold):
        assert (
            sign_in(client, tenant=tenant, user=user, password="wrong-password-1").status_code
            == 401
        )
    locked = sign_in(client, tenant=tenant, user=user)
    assert locked.status_code == 401
    assert locked.json()["type"] == "urn:emr:problem:account-locked"

    admin = make_user(database=database, tenant=tenant, role=Role.ADMIN)
    unlock = client.post(
        f"/api/v1/users/{user.id}/unlock", headers=bearer(client, tenant=tenant, user=admin)
    )
    assert unlock.status_code == 200
    assert sign_in(client, tenant=tenant, user=user).status_code == 200


def test_lock_expires_after_the_lockout_period(
    client: TestClient, owner_engine: Engine, tenant: Tenant, user: User, services: Services
) -> None:
    for _ in range(services.settings.lockout_threshold):
        sign_in(client, tenant=tenant, user=user, password="wrong-password-1")
    assert sign_in(client, tenant=tenant, user=user).status_code == 401
    with owner_engine.begin() as connection:
        connection.execute(
            text("UPDATE users SET locked_until = now() - interval '1 second' WHERE id = :id"),
            {"id": user.id},
        )
    assert sign_in(client, tenant=tenant, user=user).status_code == 200


def test_refresh_rotates_and_reusing_a_spent_token_revokes_the_family(
    client: TestClient, database: Database, tenant: Tenant, user: User
) -> None:
    first = sign_in(client, tenant=tenant, user=user).json()
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second_pair = second.json()
    assert second_pair["refresh_token"] != first["refresh_token"]
    assert set(second_pair) == {"access_token", "refresh_token", "token_type", "expires_in"}

    reuse = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert reuse.json()["type"] == "urn:emr:problem:refresh-token-reused"
    # The whole family is gone: the newest refresh token and its access token too.
    latest = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second_pair["refresh_token"]}
    )
    assert latest.status_code == 401
    me = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {second_pair['access_token']}"}
    )
    assert me.status_code == 401
    assert ("auth.refresh", "failure") in _audit_actions(database, tenant)
    # Another sign-in session of the same user is unaffected.
    assert sign_in(client, tenant=tenant, user=user).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        "00000000-0000-0000-0000-000000000000.00000000-0000-0000-0000-000000000000.x",
    ],
)
def test_malformed_or_unknown_refresh_tokens_are_refused(client: TestClient, token: str) -> None:
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": token})
    assert response.status_code == 401
    assert response.json()["type"] == "urn:emr:problem:invalid-refresh-token"


def test_refresh_token_of_another_tenant_cannot_be_replayed_under_ours(
    client: TestClient, database: Database, tenant: Tenant, user: User
) -> None:
    other = make_tenant(database=database)
    stolen = sign_in(client, tenant=tenant, user=user).json()["refresh_token"]
    _, token_id, secret = stolen.split(".")
    forged = f"{other.id}.{token_id}.{secret}"
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": forged}).status_code == 401


def test_logout_revokes_access_and_refresh_tokens(
    client: TestClient, database: Database, tenant: Tenant, user: User
) -> None:
    pair = sign_in(client, tenant=tenant, user=user).json()
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 401
    assert ("auth.logout", "success") in _audit_actions(database, tenant)


def test_idle_session_is_refused_for_access_and_refresh(
    client: TestClient, owner_engine: Engine, tenant: Tenant, user: User, services: Services
) -> None:
    pair = sign_in(client, tenant=tenant, user=user).json()
    idle = services.settings.idle_timeout_minutes + 1
    with owner_engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE auth_sessions SET last_seen_at = now() - make_interval(mins => :m) "
                "WHERE user_id = :u"
            ),
            {"m": idle, "u": user.id},
        )
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.json()["type"] == "urn:emr:problem:session-ended"


def test_activity_keeps_a_session_alive(
    client: TestClient, owner_engine: Engine, tenant: Tenant, user: User, services: Services
) -> None:
    headers = bearer(client, tenant=tenant, user=user)
    almost = services.settings.idle_timeout_minutes - 1
    with owner_engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE auth_sessions SET last_seen_at = now() - make_interval(mins => :m) "
                "WHERE user_id = :u"
            ),
            {"m": almost, "u": user.id},
        )
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with owner_engine.connect() as connection:
        last_seen: Any = connection.execute(
            text("SELECT last_seen_at FROM auth_sessions WHERE user_id = :u"), {"u": user.id}
        ).scalar_one()
    assert datetime.now(UTC) - last_seen < timedelta(minutes=1)


def _claims(services: Services, token: str) -> dict[str, object]:
    decoded: dict[str, object] = jwt.decode(
        token,
        services.secrets.jwt_secret,
        algorithms=["HS256"],
        audience=services.settings.jwt_audience,
    )
    return decoded


def test_expired_access_token_is_refused(
    client: TestClient, tenant: Tenant, user: User, services: Services
) -> None:
    token = sign_in(client, tenant=tenant, user=user).json()["access_token"]
    claims = _claims(services, token)
    claims["exp"] = int((datetime.now(UTC) - timedelta(seconds=5)).timestamp())
    expired = jwt.encode(claims, services.secrets.jwt_secret, algorithm="HS256")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_tampered_access_tokens_are_refused(
    client: TestClient, tenant: Tenant, user: User, services: Services
) -> None:
    token = sign_in(client, tenant=tenant, user=user).json()["access_token"]
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    claims = _claims(services, token)
    claims["role"] = "admin"
    wrong_key = jwt.encode(claims, "an-attackers-secret-of-sufficient-length!", algorithm="HS256")
    unsigned_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    unsigned_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    unsigned = f"{unsigned_header}.{unsigned_payload}."
    for forged in (f"{header}.{payload}.{flipped}", wrong_key, unsigned, "not-a-jwt"):
        assert (
            client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code
            == 401
        )


def test_mfa_enrolment_then_sign_in_demands_a_valid_code(
    client: TestClient, database: Database, tenant: Tenant, user: User
) -> None:
    headers = bearer(client, tenant=tenant, user=user)
    refused = client.post(
        "/api/v1/auth/mfa/enroll", json={"password": "wrong-password-1"}, headers=headers
    )
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:emr:problem:reauthentication-failed"
    enrol = client.post("/api/v1/auth/mfa/enroll", json={"password": PASSWORD}, headers=headers)
    assert enrol.status_code == 200
    secret = enrol.json()["secret"]
    assert enrol.json()["otpauth_uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(secret)

    assert (
        client.post(
            "/api/v1/auth/mfa/confirm",
            json={"otp": "000000" if totp.now() != "000000" else "111111"},
            headers=headers,
        ).status_code
        == 422
    )
    confirmed = client.post("/api/v1/auth/mfa/confirm", json={"otp": totp.now()}, headers=headers)
    assert confirmed.json() == {"mfa_enabled": True}

    without = sign_in(client, tenant=tenant, user=user)
    assert without.status_code == 401
    assert without.json()["type"] == "urn:emr:problem:mfa-required"
    wrong = sign_in(
        client, tenant=tenant, user=user, otp="123456" if totp.now() != "123456" else "654321"
    )
    assert wrong.json()["type"] == "urn:emr:problem:invalid-otp"
    # The confirmation code was spent; the next window's code signs in, once.
    next_code = totp.at(datetime.now(UTC) + timedelta(seconds=30))
    assert sign_in(client, tenant=tenant, user=user, otp=next_code).status_code == 200
    replay = sign_in(client, tenant=tenant, user=user, otp=next_code)
    assert replay.json()["type"] == "urn:emr:problem:invalid-otp"
    actions = _audit_actions(database, tenant)
    assert ("auth.mfa_enrol_start", "failure") in actions
    assert ("auth.mfa_enrol_confirm", "failure") in actions


def test_mfa_secret_is_stored_encrypted(
    client: TestClient, owner_engine: Engine, tenant: Tenant, user: User
) -> None:
    secret = client.post(
        "/api/v1/auth/mfa/enroll",
        json={"password": PASSWORD},
        headers=bearer(client, tenant=tenant, user=user),
    ).json()["secret"]
    with owner_engine.connect() as connection:
        stored: Any = connection.execute(
            text("SELECT mfa_secret_encrypted FROM users WHERE id = :id"), {"id": user.id}
        ).scalar_one()
    assert secret.encode() not in bytes(stored)


def test_token_endpoint_is_rate_limited(
    database: Database, settings: Settings, tenant: Tenant, user: User
) -> None:
    from api.app import create_app

    limited = settings.model_copy(update={"token_rate_limit": "3/minute"})
    app = create_app(limited, services=Services.build(limited, database=database))
    with TestClient(app, client=("192.0.2.9", 1)) as limited_client:
        codes = [sign_in(limited_client, tenant=tenant, user=user).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        last = sign_in(limited_client, tenant=tenant, user=user)
        assert last.json()["type"] == "urn:emr:problem:rate-limited"
        assert int(last.headers["retry-after"]) >= 1


def test_deactivated_user_cannot_sign_in_and_loses_sessions(
    client: TestClient, database: Database, tenant: Tenant, user: User
) -> None:
    headers = bearer(client, tenant=tenant, user=user)
    admin = make_user(database=database, tenant=tenant, role=Role.ADMIN)
    admin_headers = bearer(client, tenant=tenant, user=admin)
    assert (
        client.patch(
            f"/api/v1/users/{user.id}", json={"is_active": False}, headers=admin_headers
        ).status_code
        == 200
    )
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert sign_in(client, tenant=tenant, user=user, password=PASSWORD).status_code == 401
