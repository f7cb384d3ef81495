"""What Dagster assets use to reach the two databases, built from the one settings object.

Nothing is read at import: a resource resolves its engine when an asset first asks. Tests (and
deployments) may pin a warehouse folder, a ClickHouse URL or a PostgreSQL URL explicitly.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clickhouse_connect.driver.client import Client
from dagster import ConfigurableResource
from sqlalchemy import URL, make_url

from transactional.database import resolve_urls
from transactional.settings import get_settings
from warehouse.client import Warehouse


class WarehouseResource(ConfigurableResource):  # type: ignore[type-arg]
    """The warehouse: embedded chDB in `data_dir` (default: the state folder's), or a
    ClickHouse server at `url`. Hold `connect()` briefly: in embedded mode it excludes every
    other process."""

    data_dir: str | None = None
    url: str | None = None
    lock_timeout_seconds: float = 300.0

    def warehouse(self) -> Warehouse:
        if self.url is None and self.data_dir is None:
            return Warehouse.from_settings(get_settings())
        return Warehouse(
            url=self.url,
            data_dir=Path(self.data_dir or get_settings().state_dir / "chdb"),
            lock_timeout=self.lock_timeout_seconds,
        )

    @contextmanager
    def connect(self) -> Iterator[Client]:
        with self.warehouse().connect() as client:
            yield client


class PostgresResource(ConfigurableResource):  # type: ignore[type-arg]
    """The operational database, as its owner: replication reads every tenant's rows (each
    tenant bound in turn) and keeps its checkpoint next to the change log."""

    owner_database_url: str | None = None

    @property
    def owner_url(self) -> URL:
        if self.owner_database_url is not None:
            return make_url(self.owner_database_url)
        return resolve_urls(get_settings()).owner
