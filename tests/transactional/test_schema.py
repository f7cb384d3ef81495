import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import URL, Engine, text

from api.app import create_app
from api.services import Services
from transactional.database import Database, DatabaseUrls, resolve_urls
from transactional.models import Base
from transactional.schema import (
    SchemaOutOfDate,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from transactional.settings import Settings


def test_migrations_match_the_models(owner_engine: Engine) -> None:
    with owner_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_schemas": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_database_is_at_head(database: Database) -> None:
    assert current_revision(database.owner_engine) == head_revision()


def test_app_refuses_to_start_on_a_schema_behind_head(
    scratch_database: URL, settings: Settings
) -> None:
    behind = Database(DatabaseUrls(owner=scratch_database, app=scratch_database))
    app = create_app(settings, services=Services.build(settings, database=behind))
    with pytest.raises(SchemaOutOfDate, match="Run `emr db upgrade`"), TestClient(app):
        pass
    behind.dispose()


def test_migrations_downgrade_to_base_and_upgrade_again(
    scratch_database: URL, settings: Settings
) -> None:
    scratch = Database(DatabaseUrls(owner=scratch_database, app=scratch_database))
    upgrade(scratch, app_role=settings.app_db_role)
    downgrade(scratch, app_role=settings.app_db_role, revision="base")
    engine = scratch.owner_engine
    with engine.connect() as connection:
        tables: set[str] = set(
            connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname IN ('public', 'replication')"
                )
            ).scalars()
        )
    assert tables == {"alembic_version"}
    upgrade(scratch, app_role=settings.app_db_role)
    assert current_revision(engine) == head_revision()
    scratch.dispose()


def test_app_role_owns_nothing_and_cannot_bypass_rls(
    owner_engine: Engine, settings: Settings
) -> None:
    with owner_engine.connect() as connection:
        role = connection.execute(
            text("SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = :r"),
            {"r": settings.app_db_role},
        ).one()
        owned = connection.execute(
            text("SELECT count(*) FROM pg_tables WHERE tableowner = :r"),
            {"r": settings.app_db_role},
        ).scalar()
    assert tuple(role) == (False, False, False)
    assert owned == 0


def test_every_tenant_owned_table_is_under_forced_rls(owner_engine: Engine) -> None:
    with owner_engine.connect() as connection:
        rows = connection.execute(
            text(
                """
                SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
                WHERE c.relkind = 'r' AND EXISTS (
                    SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
                """
            )
        ).all()
    assert {row.relname for row in rows} >= {
        "users",
        "auth_sessions",
        "refresh_tokens",
        "audit_events",
    }
    # patients is not FORCE'd so that its name-search definer function can use the trigram
    # index (migration 0005); the app role is under its policy all the same.
    # change_log holds identifiers only and the app role has no privilege on it at all
    # (tests/transactional/test_change_capture.py); the warehouse pipeline reads it as owner.
    for row in rows:
        if row.relname == "change_log":
            continue
        forced = row.relforcerowsecurity or row.relname == "patients"
        assert row.relrowsecurity and forced and row.policies >= 1, row.relname


def test_engine_urls_follow_the_settings(settings: Settings) -> None:
    external = settings.model_copy(
        update={"database_url": SecretStr("postgresql://owner:pw@db.internal:5433/emr")}
    )
    urls = resolve_urls(external)
    assert (urls.owner.host, urls.owner.port, urls.owner.username) == ("db.internal", 5433, "owner")
    assert urls.owner.drivername == "postgresql+psycopg"
    assert urls.app.username == settings.app_db_role
    assert urls.app.database == "emr"
