"""Keyword-only factories for tenants and users, written through the real services."""

import uuid

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.orm import Session

from transactional.audit.trail import SYSTEM
from transactional.database import Database
from transactional.identity.models import Tenant, User
from transactional.identity.roles import Role
from transactional.identity.tenants import create_tenant
from transactional.identity.users import NewUser, create_user
from transactional.tenancy import bind_tenant

PASSWORD = "correct-horse-battery-staple"


def make_tenant(*, database: Database, name: str | None = None) -> Tenant:
    suffix = uuid.uuid4().hex[:8]
    with Session(database.owner_engine, expire_on_commit=False) as session, session.begin():
        return create_tenant(owner_session=session, name=name or f"Clinic {suffix}")


def make_user(
    *,
    database: Database,
    tenant: Tenant,
    role: Role = Role.ADMIN,
    email: str | None = None,
    password: str = PASSWORD,
) -> User:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return create_user(
            session=session,
            tenant_id=tenant.id,
            data=NewUser(
                email=email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.org",
                role=role,
                password=password,
            ),
            actor=SYSTEM,
            password_min_length=12,
        )


def sign_in(
    client: TestClient,
    *,
    tenant: Tenant,
    user: User,
    password: str = PASSWORD,
    otp: str | None = None,
) -> Response:
    form = {"username": user.email, "password": password, "tenant": tenant.slug}
    if otp is not None:
        form["otp"] = otp
    return client.post("/api/v1/auth/token", data=form)


def bearer(client: TestClient, *, tenant: Tenant, user: User) -> dict[str, str]:
    response = sign_in(client, tenant=tenant, user=user)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
