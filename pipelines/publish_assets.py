"""The dashboards' snapshot as a Dagster asset: after the marts, cohorts and model monitoring,
copy what the dashboards read into Parquet (warehouse/publish.py), so `emr pipeline run`
refreshes the dashboards and they never wait for the embedded warehouse's lock.

The snapshot goes beside the warehouse it was read from (`<state_dir>/published`, where
`<state_dir>/chdb` is the embedded warehouse), and the model cards come from the registry
the ML assets use.
"""

from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from pipelines.ml_assets import ModelRegistryResource
from pipelines.resources import WarehouseResource
from transactional.settings import get_settings
from warehouse.publish import MARTS, PUBLISHED, publish

UPSTREAM = [
    *(AssetKey([mart]) for mart in MARTS),
    AssetKey(["cohort_tables"]),
    AssetKey(["risk_model_monitoring"]),
]


def snapshot_root(warehouse: WarehouseResource) -> Path:
    if warehouse.data_dir is not None:
        return Path(warehouse.data_dir).parent / PUBLISHED
    return get_settings().state_dir / PUBLISHED


@asset(
    name="dashboard_snapshot",
    group_name="dashboards",
    deps=UPSTREAM,
    kinds={"parquet"},
    description="The marts, cohort results, ops tables and model cards the dashboards read, "
    "as a Parquet snapshot under state_dir/published (CURRENT names the newest).",
)
def dashboard_snapshot(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    model_registry: ModelRegistryResource,
) -> MaterializeResult[None]:
    published = publish(
        warehouse, root=snapshot_root(warehouse), models_root=model_registry.registry().root
    )
    absent = sorted(name for name, rows in published.rows.items() if rows is None)
    context.log.info(f"published {published.folder.name}; not built yet: {absent or 'none'}")
    return MaterializeResult(
        metadata={
            "snapshot": published.folder.name,
            "rows": {name: rows for name, rows in published.rows.items() if rows is not None},
            "absent": absent,
            "models": published.models,
        }
    )
