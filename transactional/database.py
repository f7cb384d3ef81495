"""Engines and sessions: the one place that connects to PostgreSQL.

Two roles: the *owner* runs migrations and administrative commands; the *app* role
(`Settings.app_db_role`) serves requests, owns nothing and is subject to row-level security.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import URL, Engine, create_engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from transactional.embedded import start_embedded_postgres
from transactional.settings import Settings


@dataclass(frozen=True)
class DatabaseUrls:
    owner: URL
    app: URL


def _psycopg(url: URL) -> URL:
    return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url


def resolve_urls(settings: Settings) -> DatabaseUrls:
    if settings.database_url is None:
        owner = start_embedded_postgres(settings.state_dir)
    else:
        owner = _psycopg(make_url(settings.database_url.get_secret_value()))
    if settings.app_database_url is not None:
        app = _psycopg(make_url(settings.app_database_url.get_secret_value()))
    else:
        password = settings.app_db_password
        app = owner.set(
            username=settings.app_db_role,
            password=password.get_secret_value() if password else None,
        )
    return DatabaseUrls(owner=owner, app=app)


class Database:
    """Lazily created engines for one PostgreSQL database."""

    def __init__(self, urls: DatabaseUrls) -> None:
        self.urls = urls

    @classmethod
    def from_settings(cls, settings: Settings) -> "Database":
        return cls(resolve_urls(settings))

    @cached_property
    def owner_engine(self) -> Engine:
        return create_engine(self.urls.owner, pool_pre_ping=True)

    @cached_property
    def app_engine(self) -> Engine:
        return create_engine(self.urls.app, pool_pre_ping=True, pool_size=10, max_overflow=10)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return sessionmaker(self.app_engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session as the app role inside one transaction, committed on success."""
        with self.sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        """Close pooled connections; the engines stay usable and reconnect on demand."""
        for name in ("owner_engine", "app_engine"):
            engine = self.__dict__.get(name)
            if engine is not None:
                engine.dispose()
