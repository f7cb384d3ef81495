"""Real engines for every test.

By default a throwaway embedded PostgreSQL cluster and chDB folder under pytest's temp dir.
With `EMR_DATABASE_URL` set (e.g. postgresql://postgres@127.0.0.1:5432/test), a throwaway
database is created on that server instead and dropped at the end. Migrated once per run;
tests isolate themselves by creating their own tenants, and the warehouse tests' populations
live in databases of their own (`own_database`).
"""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import URL, Engine, create_engine, make_url, text

from api.app import create_app
from api.services import Services
from tests.cohorts.population import World, build_world
from transactional.database import Database, DatabaseUrls, resolve_urls
from transactional.schema import upgrade
from transactional.settings import Settings

CLIENT_ADDRESS = ("203.0.113.7", 50123)


def _drop_database(maintenance: URL, name: str) -> None:
    engine = create_engine(maintenance, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _create_database(maintenance: URL, name: str) -> None:
    engine = create_engine(maintenance, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    environment = Settings()
    update: dict[str, object] = {
        "state_dir": tmp_path_factory.mktemp("state"),
        "token_rate_limit": "10000/minute",
    }
    created: tuple[URL, str] | None = None
    if environment.database_url is not None:
        server = make_url(environment.database_url.get_secret_value())
        name = f"emr_test_{uuid.uuid4().hex[:10]}"
        _create_database(server, name)
        created = (server, name)
        update["database_url"] = SecretStr(
            server.set(database=name).render_as_string(hide_password=False)
        )
    settings = environment.model_copy(update=update)
    yield settings
    if created is not None:
        _drop_database(*created)


@pytest.fixture(scope="session")
def database(base_settings: Settings) -> Iterator[Database]:
    database = Database(resolve_urls(base_settings))
    upgrade(database, app_role=base_settings.app_db_role)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def owner_engine(database: Database) -> Engine:
    """Superuser/owner connection, for what an attacker with database access could do."""
    return database.owner_engine


@pytest.fixture
def scratch_database(database: Database) -> Iterator[URL]:
    """An empty database on the same server, for schema-version tests."""
    name = f"emr_scratch_{uuid.uuid4().hex[:10]}"
    maintenance = database.urls.owner.set(database="postgres")
    _create_database(maintenance, name)
    yield database.urls.owner.set(database=name)
    _drop_database(maintenance, name)


def separate_database(server: Database, label: str, *, app_role: str) -> tuple[Database, str]:
    """A new, migrated database on `server`'s server; drop it with `drop_separate_database`."""
    name = f"emr_{label}_{uuid.uuid4().hex[:8]}"
    _create_database(server.urls.owner.set(database="postgres"), name)
    own = Database(
        DatabaseUrls(
            owner=server.urls.owner.set(database=name), app=server.urls.app.set(database=name)
        )
    )
    upgrade(own, app_role=app_role)
    return own, name


def drop_separate_database(own: Database, name: str) -> None:
    own.dispose()
    _drop_database(own.urls.owner.set(database="postgres"), name)


@pytest.fixture(scope="session")
def own_database(
    database: Database, base_settings: Settings
) -> Iterator[Callable[[str], Database]]:
    """Make a migrated database of its own on the same server, dropped at the end of the run.

    For the warehouse tests' populations: a full resync copies every tenant of a database, so a
    population in the shared database would be copied (and checked) by every later resync, and
    every other test's rows would reach its marts.
    """
    made: list[tuple[Database, str]] = []

    def make(label: str) -> Database:
        own, name = separate_database(database, label, app_role=base_settings.app_db_role)
        made.append((own, name))
        return own

    yield make
    for own, name in made:
        drop_separate_database(own, name)


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return base_settings


@pytest.fixture
def services(settings: Settings, database: Database) -> Services:
    return Services.build(settings, database=database)


@pytest.fixture
def app(services: Services) -> FastAPI:
    return create_app(services.settings, services=services)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, client=CLIENT_ADDRESS, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def world(
    own_database: Callable[[str], Database],
    base_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> World:
    """The hand-built cohort population and its warehouse (tests/cohorts, tests/extract)."""
    return build_world(
        database=own_database("cohorts"),
        settings=base_settings,
        root=tmp_path_factory.mktemp("cohort-world"),
    )
