"""The dbt project as Dagster assets: loads without side effects, groups by domain, and a
materialization runs `emr-dbt` against the warehouse the resource's settings name."""

import warnings
from pathlib import Path

import pytest
from dagster import AssetKey, AssetsDefinition, AssetSelection, materialize

from transactional.settings import Settings
from warehouse.client import Warehouse
from warehouse.raw import create_raw_tables

with warnings.catch_warnings():
    # dagster-dbt imports sqlglot, whose Rust tokenizer warns it is deprecated on import.
    warnings.filterwarnings("ignore", "sqlglotrs is deprecated", DeprecationWarning)
    from pipelines.dbt_assets import dbt_resource, emr_dbt_assets


@pytest.fixture(scope="module")
def assets() -> AssetsDefinition:
    return emr_dbt_assets()


def test_assets_cover_every_mart_grouped_by_domain(assets: AssetsDefinition) -> None:
    groups = {key.path[-1]: assets.group_names_by_key[key] for key in assets.keys}
    assert groups["stg_patients"] == "dbt_staging"
    assert groups["int_member_months"] == "dbt_intermediate"
    assert groups["rev_kpi_summary"] == "revenue"
    assert groups["ph_utilization_summary"] == "population_health"
    assert groups["qm_measure_results"] == "quality"
    assert groups["value_sets"] == "value_sets"
    checks = {check.asset_key for check in assets.check_specs}
    assert AssetKey("rev_ar_aging") in checks  # data tests become asset checks


def test_resource_points_dbt_at_the_settings_warehouse(tmp_path: Path) -> None:
    resource = dbt_resource(Settings(state_dir=tmp_path, warehouse_url=None))
    environment = resource.environment()
    assert environment["EMR_DBT_TARGET"] == "chdb"
    assert environment["EMR_CHDB_PATH"] == str(tmp_path / "chdb")
    assert resource.target == "chdb"


# dagster-dbt 0.29 itself calls the deprecated AssetExecutionContext.op.
@pytest.mark.filterwarnings("ignore:AssetExecutionContext.op is deprecated:DeprecationWarning")
def test_materializing_a_selection_builds_it_in_the_warehouse(
    assets: AssetsDefinition,
    base_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Only tests whose every parent is selected: the other staging views are not built here.
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "cautious")
    settings = base_settings.model_copy(update={"state_dir": tmp_path, "warehouse_url": None})
    warehouse = Warehouse.from_settings(settings)
    with warehouse.connect() as client:
        create_raw_tables(client)
    selection = AssetSelection.assets(AssetKey("stg_tenants"), AssetKey("stg_payers"))
    result = materialize([assets], selection=selection, resources={"dbt": dbt_resource(settings)})
    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialized == {AssetKey("stg_tenants"), AssetKey("stg_payers")}
    with warehouse.connect(timeout=1) as client:
        names = client.query(
            "SELECT name FROM system.tables WHERE database = 'analytics' ORDER BY name"
        ).result_rows
    assert names == [("stg_payers",), ("stg_tenants",)]
