"""The publisher's snapshot is the marts, tenant by tenant; suppression holds; the pointer
moves atomically and old snapshots go."""

import polars as pl
import pytest
from dagster import materialize

from pipelines.ml_assets import ModelRegistryResource
from pipelines.publish_assets import dashboard_snapshot
from pipelines.resources import WarehouseResource
from tests.dashboards.conftest import DashboardWorld
from warehouse.publish import (
    CURRENT,
    MARTS,
    PUBLISHED,
    current_snapshot,
    publish,
    published_root,
)


def test_the_snapshot_equals_the_marts(dashboard_world: DashboardWorld) -> None:
    world = dashboard_world
    folder = current_snapshot(published_root(world.settings.state_dir))
    assert folder == world.published.folder
    with world.warehouse.connect() as client:
        for mart in MARTS:
            expected = client.query(
                f"SELECT count(), countIf(tenant_id = {{t:UUID}}) FROM analytics.`{mart}`",
                parameters={"t": str(world.tenant.id)},
            ).result_rows[0]
            published = pl.read_parquet(folder / f"{mart}.parquet")
            assert published.height == expected[0], mart
            assert (
                published.filter(pl.col("tenant_id") == str(world.tenant.id)).height
                == (expected[1])
            )
        kpi = client.query(
            "SELECT ar_balance_cents, denial_rate FROM analytics.rev_kpi_summary "
            "WHERE tenant_id = {t:UUID}",
            parameters={"t": str(world.tenant.id)},
        ).result_rows
    shown = (
        pl.read_parquet(folder / "rev_kpi_summary.parquet")
        .filter(pl.col("tenant_id") == str(world.tenant.id))
        .select("ar_balance_cents", "denial_rate")
        .rows()
    )
    assert shown == [tuple(r) for r in kpi]


def test_published_aggregates_keep_small_cells_withheld(dashboard_world: DashboardWorld) -> None:
    folder = dashboard_world.published.folder
    counts = {
        "rev_revenue_monthly": ["charge_line_count", "encounter_count", "patient_count"],
        "qm_measure_rates": ["denominator", "numerator", "care_gaps"],
        "ops_appointments_monthly": ["appointments", "completed", "no_shows", "cancelled"],
    }
    for table, columns in counts.items():
        frame = pl.read_parquet(folder / f"{table}.parquet")
        assert frame.height > 0, table
        for column in columns:
            assert not frame[column].drop_nulls().is_between(1, 10).any(), (table, column)


def test_publishing_again_moves_current_and_keeps_two(dashboard_world: DashboardWorld) -> None:
    world = dashboard_world
    root = world.settings.state_dir / "republished"
    made = [publish(world.warehouse, root=root) for _ in range(3)]
    assert current_snapshot(root) == made[-1].folder
    assert (root / CURRENT).read_text().strip() == made[-1].folder.name
    kept = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert kept == sorted([made[-2].folder.name, made[-1].folder.name])


def test_the_dagster_asset_publishes_beside_the_warehouse(
    dashboard_world: DashboardWorld, tmp_path_factory: pytest.TempPathFactory
) -> None:
    world = dashboard_world
    registry = tmp_path_factory.mktemp("no-models")
    result = materialize(
        [dashboard_snapshot],
        resources={
            "warehouse": WarehouseResource(
                data_dir=str(world.warehouse.data_dir), lock_timeout_seconds=300
            ),
            "model_registry": ModelRegistryResource(root=str(registry)),
        },
    )
    assert result.success
    folder = current_snapshot(world.settings.state_dir / PUBLISHED)
    assert folder is not None
    assert pl.read_parquet(folder / "rev_kpi_summary.parquet").height > 0
