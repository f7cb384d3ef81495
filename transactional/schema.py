"""Schema version management: Alembic is the only way the schema is created or changed."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import sql
from sqlalchemy import Engine

from transactional.database import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class SchemaOutOfDate(RuntimeError):
    pass


def alembic_config(app_role: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["app_role"] = app_role
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("unused")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(
    database: Database, *, app_role: str, app_password: str | None = None, revision: str = "head"
) -> None:
    config = alembic_config(app_role)
    with database.owner_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        if app_password is not None:
            # Utility statements take no bind parameters; psycopg quotes the literal.
            statement = sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(app_role), sql.Literal(app_password)
            )
            connection.exec_driver_sql(statement.as_string(connection.connection.driver_connection))


def downgrade(database: Database, *, app_role: str, revision: str) -> None:
    config = alembic_config(app_role)
    with database.owner_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def assert_schema_current(engine: Engine) -> None:
    """Refuse to run against a schema that is behind (or ahead of) this code."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"Database schema is at revision {current or 'none'}, but this code needs {head}. "
            "Run `emr db upgrade` first."
        )
