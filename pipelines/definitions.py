"""The Dagster code location: `dagster dev -m pipelines.definitions` (or `emr pipeline dev`).

Built when Dagster asks for it (`@definitions`), never at import: resources resolve the
databases from settings on first use, and the dbt manifest is parsed then if missing.

Jobs: `replicate` (the replication sensor's micro-batches), `catch_up` (replicate, dbt build,
cohorts, care-gap reminders, scoring and monitoring, with every check; what `emr pipeline run`
runs, and what the marts sensor asks for), `first_build` (the same with the risk models
trained first: a new warehouse's first run, `emr pipeline run --train`), `risk_training` (a
new version of each risk model) and `risk_scoring`.
"""

from dagster import AssetKey, AssetSelection, Definitions, define_asset_job, definitions

from pipelines.cds_assets import care_gap_reminders
from pipelines.cohorts import cohort_tables
from pipelines.dbt_assets import WarehouseDbtResource, dbt_resource, emr_dbt_assets
from pipelines.ml_assets import (
    ModelRegistryResource,
    risk_model_monitoring,
    risk_models,
    risk_scores,
    risk_scoring_job,
    risk_training_job,
)
from pipelines.publish_assets import dashboard_snapshot
from pipelines.quality import quality_checks
from pipelines.replication_assets import (
    CATCH_UP_JOB,
    marts_sensor,
    raw_tables,
    replication_job,
    replication_sensor,
)
from pipelines.resources import PostgresResource, WarehouseResource
from transactional.settings import get_settings

FIRST_BUILD_JOB = "first_build"
__all__ = ["CATCH_UP_JOB", "FIRST_BUILD_JOB", "build_definitions"]


def build_definitions(
    *,
    warehouse: WarehouseResource | None = None,
    postgres: PostgresResource | None = None,
    model_registry: ModelRegistryResource | None = None,
) -> Definitions:
    """Every asset, check, job and sensor, with the given resources (default: from settings)."""
    settings = get_settings()
    catch_up = define_asset_job(
        CATCH_UP_JOB,
        selection=AssetSelection.all() - AssetSelection.assets(AssetKey(["risk_models"])),
        description=(
            "One catch-up pass: replicate, build the marts, run the checks, remind of care "
            "gaps, score."
        ),
    )
    first_build = define_asset_job(
        FIRST_BUILD_JOB,
        selection=AssetSelection.all(),
        description="Everything, the risk models trained before scoring: a new warehouse's "
        "first run.",
    )
    dbt = dbt_resource(settings)
    if warehouse is not None and warehouse.data_dir is not None:
        # dbt must build the very warehouse the other assets use.
        dbt = WarehouseDbtResource(
            project_dir=dbt.project_dir,
            profiles_dir=dbt.profiles_dir,
            dbt_executable=dbt.dbt_executable,
            target="chdb",
            chdb_path=warehouse.data_dir,
            lock_timeout_seconds=warehouse.lock_timeout_seconds,
        )
    return Definitions(
        assets=[
            raw_tables,
            emr_dbt_assets(),
            cohort_tables,
            care_gap_reminders,
            risk_models,
            risk_scores,
            risk_model_monitoring,
            dashboard_snapshot,
        ],
        asset_checks=quality_checks(),
        jobs=[replication_job, catch_up, first_build, risk_training_job, risk_scoring_job],
        sensors=[replication_sensor, marts_sensor],
        resources={
            "warehouse": warehouse or WarehouseResource(),
            "postgres": postgres or PostgresResource(),
            "dbt": dbt,
            "model_registry": model_registry or ModelRegistryResource(),
        },
    )


@definitions
def defs() -> Definitions:
    return build_definitions()
