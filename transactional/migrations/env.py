"""Alembic environment: migrations always run as the owner role, never as the app role."""

from alembic import context
from sqlalchemy import Connection, Engine

from transactional.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    config = context.config
    connectable = config.attributes.get("connection")
    if connectable is None:
        from transactional.database import resolve_urls
        from transactional.settings import get_settings

        settings = get_settings()
        config.attributes.setdefault("app_role", settings.app_db_role)
        from sqlalchemy import create_engine

        engine: Engine = create_engine(resolve_urls(settings).owner)
        try:
            with engine.connect() as connection:
                _run(connection)
        finally:
            engine.dispose()
    else:
        _run(connectable)


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run `emr db upgrade`.")
run_migrations_online()
