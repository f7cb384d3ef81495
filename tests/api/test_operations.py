from fastapi.testclient import TestClient
from filelock import FileLock
from pydantic import SecretStr

from api.app import create_app
from api.services import Services
from tests.factories.identity import bearer, make_tenant, make_user
from transactional.database import Database
from transactional.identity.roles import Role
from transactional.settings import Settings


def test_healthz_answers_without_dependencies(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_postgres_and_the_warehouse(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"postgres": "ok", "warehouse": "ok"}}


def test_readyz_reports_an_unreachable_warehouse(settings: Settings, database: Database) -> None:
    broken = settings.model_copy(update={"warehouse_url": SecretStr("http://127.0.0.1:9/default")})
    app = create_app(broken, services=Services.build(broken, database=database))
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["checks"] == {"postgres": "ok", "warehouse": "unavailable"}


def test_readyz_stays_ready_while_another_process_holds_the_embedded_warehouse(
    client: TestClient, services: Services
) -> None:
    lock = FileLock(services.warehouse.lock_path, thread_local=False)
    with lock.acquire(timeout=60):  # as a dbt build in another process would
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"postgres": "ok", "warehouse": "busy"}


def test_metrics_count_requests_by_route_template_without_ids(
    client: TestClient, database: Database
) -> None:
    tenant = make_tenant(database=database)
    admin = make_user(database=database, tenant=tenant, role=Role.ADMIN)
    headers = bearer(client, tenant=tenant, user=admin)
    client.get(f"/api/v1/users/{admin.id}", headers=headers)
    text = client.get("/metrics").text
    assert (
        'emr_http_requests_total{method="GET",route="/api/v1/users/{user_id}",status="200"} 1.0'
        in text
    )
    assert str(admin.id) not in text and admin.email not in text
    assert 'emr_auth_events_total{event="login",outcome="success"} 1.0' in text


def test_openapi_lists_the_contract(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/v1/auth/token", "/api/v1/auth/refresh", "/api/v1/auth/logout"):
        assert "post" in paths[path]
    for path in (
        "/api/v1/audit-events",
        "/api/v1/audit-events/verify",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert "get" in paths[path]
    token_form = spec["components"]["schemas"]["Body_issue_token_api_v1_auth_token_post"]
    assert {"username", "password", "tenant", "otp"} <= set(token_form["properties"])
