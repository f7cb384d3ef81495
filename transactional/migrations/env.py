"""Alembic environment: migrations always run as the owner role, never as the app role.

`emr db upgrade` hands over its connection; a bare `alembic upgrade` connects from settings.
"""

from alembic import context
from sqlalchemy import Connection, create_engine

from transactional.database import resolve_urls
from transactional.models import Base
from transactional.settings import get_settings


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        include_schemas=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    settings = get_settings()
    config.attributes.setdefault("app_role", settings.app_db_role)
    engine = create_engine(resolve_urls(settings).owner)
    try:
        with engine.begin() as own_connection:
            _run(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run `emr db upgrade`.")
run_migrations_online()
