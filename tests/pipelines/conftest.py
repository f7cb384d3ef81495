from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.conftest import drop_separate_database, separate_database
from transactional.database import Database
from transactional.settings import Settings


@pytest.fixture(scope="session")
def database(database: Database, base_settings: Settings) -> Iterator[Database]:
    """The replication tests' own database. Their passes copy every tenant of the database they
    read, so in the shared one each pass would copy every other test's rows as well."""
    own, name = separate_database(database, "pipelines", app_role=base_settings.app_db_role)
    yield own
    drop_separate_database(own, name)


@pytest.fixture(scope="session")
def owner_engine(database: Database) -> Engine:
    """Of this directory's database (the session-wide one would be cached for the shared one)."""
    return database.owner_engine
