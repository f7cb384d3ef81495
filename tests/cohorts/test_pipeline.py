"""The cohorts asset builds every shipped cohort for every tenant after the dbt build."""

import uuid
from pathlib import Path

import pytest
from dagster import JsonMetadataValue, materialize

from pipelines.cohorts import CohortsConfig, cohort_tables
from pipelines.resources import WarehouseResource
from tests.cohorts.population import World
from warehouse.client import Warehouse
from warehouse.cohorts.loader import shipped_definitions
from warehouse.cohorts.runner import WarehouseNotBuilt, materialize_cohort


def test_the_asset_materializes_every_shipped_cohort_for_the_tenant(world: World) -> None:
    tenant = str(world.population.tenant.id)
    result = materialize(
        [cohort_tables],
        resources={"warehouse": WarehouseResource(data_dir=str(world.warehouse.data_dir))},
        run_config={
            "ops": {"cohort_tables": {"config": CohortsConfig(tenants=[tenant]).model_dump()}}
        },
    )
    assert result.success
    with world.warehouse.connect() as client:
        built = client.query(
            "SELECT DISTINCT cohort FROM analytics.cohort_attrition WHERE tenant_id = {t:UUID}",
            parameters={"t": tenant},
        ).result_rows
    assert set(shipped_definitions()) <= {row[0] for row in built}
    summary = result.asset_materializations_for_node("cohort_tables")[0].metadata["summary"]
    assert isinstance(summary, JsonMetadataValue) and isinstance(summary.value, dict)
    # The shipped diabetes cohort has no kidney-disease exclusion: members and ckd groups.
    assert summary.value["t2d_metformin_uncontrolled"]["members_in_unsuppressed_tenants"] == 26


def test_an_unbuilt_warehouse_is_refused(tmp_path: Path) -> None:
    empty = Warehouse(url=None, data_dir=tmp_path / "chdb", lock_timeout=5)
    with empty.connect() as client, pytest.raises(WarehouseNotBuilt, match="dbt build"):
        materialize_cohort(
            client,
            definition=shipped_definitions()["hypertension_40_75_without_ckd"],
            tenant_id=uuid.uuid4(),
        )
