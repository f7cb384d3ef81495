"""A seeded population replicated into a throwaway warehouse, and running the checks on it."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from dagster import (
    AssetSelection,
    Definitions,
    ExecuteInProcessResult,
    define_asset_job,
)

from pipelines.quality import quality_checks
from pipelines.replication import full_resync
from pipelines.replication_assets import raw_tables
from pipelines.resources import PostgresResource, WarehouseResource
from transactional.capture.scope import captured_table
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.synthetic.seed import seed_population, tenant_for
from warehouse.raw import as_warehouse_rows, current_rows, write

AS_OF = date(2026, 11, 22)
PLANTED_VERSION = 2**62  # newer than any snapshot xmin replication writes


@dataclass(frozen=True)
class Checked:
    """A warehouse replicated from the shared PostgreSQL, and the resources to check it."""

    warehouse: WarehouseResource
    postgres: PostgresResource
    tenant: Tenant

    def run(
        self, selection: AssetSelection | None = None, *, config: dict[str, object] | None = None
    ) -> ExecuteInProcessResult:
        definitions = Definitions(
            assets=[raw_tables],
            asset_checks=quality_checks(),
            jobs=[
                define_asset_job(
                    "quality", selection=selection or AssetSelection.all_asset_checks()
                )
            ],
            resources={"warehouse": self.warehouse, "postgres": self.postgres},
        )
        job = definitions.resolve_job_def("quality")
        return job.execute_in_process(run_config={"ops": config} if config else None)


@pytest.fixture(scope="module")
def quality_database(own_database: Callable[[str], Database]) -> Database:
    return own_database("quality")


@pytest.fixture(scope="module")
def population(quality_database: Database) -> Tenant:
    database = quality_database
    slug = f"quality-{uuid.uuid4().hex[:8]}"
    seed_population(
        database=database, slug=slug, patients=30, seed=20261122, as_of=AS_OF, progress=None
    )
    return tenant_for(database, slug)


@pytest.fixture
def checked(quality_database: Database, population: Tenant, tmp_path: Path) -> Checked:
    database = quality_database
    warehouse = WarehouseResource(data_dir=str(tmp_path / "chdb"), lock_timeout_seconds=120)
    with warehouse.connect() as client:
        full_resync(source=database.urls.owner, client=client)
    return Checked(
        warehouse=warehouse,
        postgres=PostgresResource(
            owner_database_url=database.urls.owner.render_as_string(hide_password=False)
        ),
        tenant=population,
    )


def tenant_rows(checked: Checked, table: str) -> pa.Table:
    with checked.warehouse.connect() as client:
        return current_rows(client, captured_table(table), tenant_id=checked.tenant.id)


def plant(checked: Checked, table: str, rows: pa.Table, *, deleted: bool = False) -> None:
    """Write `rows` into the raw table as the newest version of their keys, behind
    replication's back."""
    source = captured_table(table)
    prepared = as_warehouse_rows(
        rows, source, version=PLANTED_VERSION, deleted=deleted, batch="planted"
    )
    with checked.warehouse.connect() as client:
        write(client, source, prepared, token=f"planted:{table}:{uuid.uuid4()}")


def with_value(rows: pa.Table, column: str, value: object) -> pa.Table:
    """`rows` with every value of `column` replaced (same Arrow type)."""
    index = rows.column_names.index(column)
    kind = rows.schema.field(column).type
    return rows.set_column(index, column, pa.array([value] * rows.num_rows, type=kind))
