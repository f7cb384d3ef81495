import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.factories.identity import bearer, make_tenant, make_user
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.identity.roles import Role
from transactional.tenancy import bind_tenant

PROBLEM = "application/problem+json"


@pytest.fixture
def tenant(database: Database) -> Tenant:
    return make_tenant(database=database)


@pytest.fixture
def admin_headers(client: TestClient, database: Database, tenant: Tenant) -> dict[str, str]:
    admin = make_user(database=database, tenant=tenant, role=Role.ADMIN)
    return bearer(client, tenant=tenant, user=admin)


def _user_count(database: Database, tenant: Tenant) -> int:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return int(session.execute(text("SELECT count(*) FROM users")).scalar_one())


VALID = {"email": "new.user@example.org", "role": "nurse", "password": "a-long-password-1"}


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        (b'{"email": "x@example.org", "role": ', 400, "malformed-json"),
        (b"not json at all", 400, "malformed-json"),
        (
            b'{"email": "x@example.org", "role": "nurse", "password": 123456789012}',
            422,
            "validation-error",
        ),
        (
            b'{"email": ["x"], "role": "nurse", "password": "a-long-password-1"}',
            422,
            "validation-error",
        ),
        (
            b'{"email": "x@example.org", "role": "surgeon", "password": "a-long-password-1"}',
            422,
            "validation-error",
        ),
        (
            b'{"email": "x@example.org", "role": "nurse", "password": "a-long-password-1", '
            b'"is_superuser": true}',
            422,
            "validation-error",
        ),
        (b'{"role": "nurse", "password": "a-long-password-1"}', 422, "validation-error"),
        (b"[]", 422, "validation-error"),
    ],
)
def test_bad_bodies_get_a_problem_and_write_nothing(
    client: TestClient,
    database: Database,
    tenant: Tenant,
    admin_headers: dict[str, str],
    body: bytes,
    status: int,
    kind: str,
) -> None:
    before = _user_count(database, tenant)
    response = client.post(
        "/api/v1/users", content=body, headers=admin_headers | {"Content-Type": "application/json"}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == f"urn:emr:problem:{kind}"
    assert problem["status"] == status
    assert _user_count(database, tenant) == before


def test_validation_errors_name_the_field_but_never_echo_the_value(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    secret_value = "Jane Q. Patient 1970-01-01"
    response = client.post(
        "/api/v1/users",
        json=VALID | {"role": secret_value, "unexpected_ssn": "123-45-6789"},
        headers=admin_headers,
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {tuple(error["loc"]) for error in errors} == {
        ("body", "role"),
        ("body", "unexpected_ssn"),
    }
    assert secret_value not in response.text and "123-45-6789" not in response.text


def test_declared_oversized_body_is_413_and_writes_nothing(
    client: TestClient,
    database: Database,
    tenant: Tenant,
    admin_headers: dict[str, str],
    app: FastAPI,
) -> None:
    limit = app.state.services.settings.max_request_bytes
    padded = VALID | {"display_name": "x" * (limit + 10)}
    response = client.post("/api/v1/users", json=padded, headers=admin_headers)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "urn:emr:problem:payload-too-large"
    assert _user_count(database, tenant) == 1


def test_streamed_oversized_body_without_length_is_413(
    client: TestClient, admin_headers: dict[str, str], app: FastAPI
) -> None:
    limit = app.state.services.settings.max_request_bytes

    def chunks() -> Iterator[bytes]:
        yield b'{"email": "a@example.org", "display_name": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = client.post(
        "/api/v1/users",
        content=chunks(),
        headers=admin_headers | {"Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_wrong_path_and_query_types_are_problems(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    not_uuid = client.get("/api/v1/users/not-a-uuid", headers=admin_headers)
    assert not_uuid.status_code == 422 and not_uuid.headers["content-type"] == PROBLEM
    bad_limit = client.get("/api/v1/users", params={"limit": "lots"}, headers=admin_headers)
    assert bad_limit.status_code == 422
    too_big = client.get("/api/v1/audit-events", params={"limit": 10_000}, headers=admin_headers)
    assert too_big.status_code == 422


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    missing = client.get("/api/v1/does-not-exist")
    assert (missing.status_code, missing.headers["content-type"]) == (404, PROBLEM)
    wrong_method = client.delete("/api/v1/auth/token")
    assert (wrong_method.status_code, wrong_method.headers["content-type"]) == (405, PROBLEM)


def test_missing_credentials_are_a_401_problem(client: TestClient) -> None:
    response = client.get("/api/v1/users")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == "Bearer"


def test_unexpected_errors_are_500_without_details_in_response_or_log(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    phi = "Jane Doe MRN 000123"

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(phi)

    # raise_server_exceptions=True: an exception escaping the app (to be logged in full by
    # the server) would fail the test here.
    with TestClient(app, raise_server_exceptions=True) as client, caplog.at_level(logging.INFO):
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "urn:emr:problem:internal-error"
    assert phi not in response.text
    assert "RuntimeError" in caplog.text
    assert phi not in caplog.text
    assert response.headers["cache-control"] == "no-store"


def test_sign_in_form_errors_are_problems(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", data={"username": "a@example.org"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    missing = {tuple(error["loc"]) for error in response.json()["errors"]}
    assert missing == {("body", "password"), ("body", "tenant")}
