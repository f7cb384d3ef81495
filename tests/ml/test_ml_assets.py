"""The ML assets, jobs and resources load as a Dagster code location would load them."""

from pathlib import Path

from dagster import AssetKey, Definitions

from pipelines.ml_assets import (
    ModelRegistryResource,
    risk_model_monitoring,
    risk_models,
    risk_scores,
    risk_scoring_job,
    risk_training_job,
)
from pipelines.resources import PostgresResource, WarehouseResource


def test_the_ml_assets_load_with_their_jobs_and_depend_on_the_feature_marts(
    tmp_path: Path,
) -> None:
    definitions = Definitions(
        assets=[risk_models, risk_scores, risk_model_monitoring],
        jobs=[risk_training_job, risk_scoring_job],
        resources={
            "warehouse": WarehouseResource(data_dir=str(tmp_path / "chdb")),
            "postgres": PostgresResource(owner_database_url="postgresql://nobody@localhost/none"),
            "model_registry": ModelRegistryResource(root=str(tmp_path / "models")),
        },
    )
    Definitions.validate_loadable(definitions)
    graph = definitions.resolve_asset_graph()
    marts = {AssetKey(["ml_t2d_features"]), AssetKey(["ml_readmission_features"])}
    assert marts <= set(graph.get(AssetKey(["risk_models"])).parent_keys)
    assert AssetKey(["risk_models"]) in graph.get(AssetKey(["risk_scores"])).parent_keys
    assert AssetKey(["risk_scores"]) in graph.get(AssetKey(["risk_model_monitoring"])).parent_keys
    scoring = definitions.resolve_job_def("risk_scoring")
    assert {node.name for node in scoring.nodes} == {"risk_scores", "risk_model_monitoring"}
    assert {node.name for node in definitions.resolve_job_def("risk_training").nodes} == {
        "risk_models"
    }
