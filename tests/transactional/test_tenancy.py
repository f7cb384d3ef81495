import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from tests.factories.identity import make_tenant, make_user
from transactional.database import Database
from transactional.identity.models import Tenant, User
from transactional.identity.tenants import tenant_id_for_slug
from transactional.tenancy import bind_tenant, current_tenant

TENANT_TABLES = ("users", "auth_sessions", "refresh_tokens", "audit_events")


@pytest.fixture
def two_tenants(database: Database) -> tuple[Tenant, Tenant]:
    a, b = make_tenant(database=database), make_tenant(database=database)
    for tenant in (a, b):
        make_user(database=database, tenant=tenant)
    return a, b


def test_raw_sql_under_tenant_a_returns_none_of_tenant_bs_rows(
    database: Database, two_tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = two_tenants
    with database.transaction() as session:
        bind_tenant(session, a.id)
        for table in TENANT_TABLES:
            foreign = session.execute(
                text(f"SELECT count(*) FROM {table} WHERE tenant_id = :b"), {"b": b.id}
            ).scalar()
            assert foreign == 0, table
        own: Any = session.execute(text("SELECT DISTINCT tenant_id FROM users")).scalars().all()
        assert own == [a.id]
        tenants: Any = session.execute(text("SELECT id FROM tenants")).scalars().all()
        assert tenants == [a.id]


def test_without_a_tenant_nothing_is_visible(
    database: Database, two_tenants: tuple[Tenant, Tenant]
) -> None:
    with database.transaction() as session:
        assert current_tenant(session) is None
        assert session.execute(text("SELECT count(*) FROM users")).scalar() == 0
        assert session.execute(text("SELECT count(*) FROM tenants")).scalar() == 0


def test_tenant_binding_ends_with_the_transaction(
    database: Database, two_tenants: tuple[Tenant, Tenant]
) -> None:
    a, _ = two_tenants
    with database.app_engine.connect() as connection:
        with connection.begin():
            connection.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a.id)}
            )
            assert connection.execute(text("SELECT count(*) FROM users")).scalar() == 1
        with connection.begin():
            assert connection.execute(text("SELECT count(*) FROM users")).scalar() == 0


def test_writing_a_row_for_another_tenant_is_refused(
    database: Database, two_tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = two_tenants
    intruder = User(
        id=uuid.uuid4(),
        tenant_id=b.id,
        email="intruder@example.org",
        display_name="x",
        role="admin",
        password_hash="x",
        is_active=True,
        failed_login_count=0,
        mfa_enabled=False,
    )
    with database.transaction() as session:
        bind_tenant(session, a.id)
        session.add(intruder)
        with pytest.raises(ProgrammingError, match="row-level security"):
            session.flush()
        session.rollback()


def test_updates_cannot_reach_another_tenants_rows(
    database: Database, two_tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = two_tenants
    with database.transaction() as session:
        bind_tenant(session, a.id)
        changed = (
            session.connection()
            .execute(
                text("UPDATE users SET display_name = 'pwned' WHERE tenant_id = :b"), {"b": b.id}
            )
            .rowcount
        )
        deleted = (
            session.connection()
            .execute(text("DELETE FROM users WHERE tenant_id = :b"), {"b": b.id})
            .rowcount
        )
    assert (changed, deleted) == (0, 0)
    with database.transaction() as session:
        bind_tenant(session, b.id)
        assert session.execute(text("SELECT display_name FROM users")).scalar() != "pwned"


def test_app_role_cannot_disable_rls_or_create_tenants(database: Database) -> None:
    with pytest.raises(ProgrammingError), database.transaction() as session:
        session.execute(text("ALTER TABLE users DISABLE ROW LEVEL SECURITY"))
    with pytest.raises(ProgrammingError), database.transaction() as session:
        session.execute(
            text(
                "INSERT INTO tenants (id, slug, name, created_at) "
                "VALUES (gen_random_uuid(), 'x', 'x', now())"
            )
        )


def test_slug_lookup_works_without_listing_tenants(
    database: Database, two_tenants: tuple[Tenant, Tenant]
) -> None:
    a, _ = two_tenants
    with database.transaction() as session:
        assert tenant_id_for_slug(session=session, slug=a.slug) == a.id
        assert tenant_id_for_slug(session=session, slug="no-such-clinic") is None
