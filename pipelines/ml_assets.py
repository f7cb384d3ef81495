"""Risk models as Dagster assets: train and register, score every active patient and write
the scores back to PostgreSQL, and monitor drift and calibration.

- `risk_models` trains each model on its feature mart (every tenant, or those configured) and
  registers a new version (ml/registry.py). Job `risk_training`.
- `risk_scores` scores today's units of every tenant with each model's current version and
  writes them through `transactional.risk.services` (one transaction per tenant and model,
  tenant bound for row-level security). Job `risk_scoring`, with:
- `risk_model_monitoring`: PSI of today's scores against training, and calibration on
  outcomes after the training data, per tenant, appended to `ops.model_monitoring`.

Training pools the tenants it is given (default: all; the card lists them); scoring and
monitoring run per tenant (default: all, or the configured ones). The warehouse is held per
tenant and model, briefly, so other processes get their turn.
"""

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Config,
    ConfigurableResource,
    MaterializeResult,
    asset,
    define_asset_job,
)
from pydantic import Field
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from ml.batch import tenant_scores
from ml.features.spec import MODELS, ModelSpec, model_spec
from ml.marts import mart_tenants, mart_units
from ml.monitoring import monitor, write_rows
from ml.registry import Registry
from ml.training import train
from pipelines.resources import PostgresResource, WarehouseResource
from transactional.audit.trail import Actor
from transactional.risk.services import record_scores
from transactional.settings import get_settings
from transactional.tenancy import bind_tenant

ML_GROUP = "ml"
MARTS = [AssetKey([spec.mart]) for spec in MODELS.values()]
PIPELINE_ACTOR = Actor(user_id=None, role="system", user_agent="dagster:risk_scores")


class ModelRegistryResource(ConfigurableResource):  # type: ignore[type-arg]
    """The model registry: `root`, or `state_dir/models` of the settings."""

    root: str | None = None

    def registry(self) -> Registry:
        if self.root is None:
            return Registry.from_settings(get_settings())
        return Registry(Path(self.root))


class TrainingConfig(Config):
    models: list[str] = Field(default_factory=list, description="Models to train; empty: all.")
    tenants: list[str] = Field(
        default_factory=list, description="Tenant ids to train on; empty: every tenant."
    )
    as_of: str | None = Field(
        default=None, description="The as-of date the marts were built for (YYYY-MM-DD)."
    )
    test_days: int | None = Field(
        default=None, description="Length of the test period; default: the model's own."
    )


class TenantsConfig(Config):
    tenants: list[str] = Field(
        default_factory=list, description="Tenant ids to score; empty: every tenant."
    )


def _tenants(config: TenantsConfig, found: list[uuid.UUID]) -> list[uuid.UUID]:
    return [uuid.UUID(t) for t in config.tenants] or found


def _specs(names: list[str]) -> list[ModelSpec]:
    return [model_spec(name) for name in names] if names else list(MODELS.values())


@asset(
    name="risk_models",
    group_name=ML_GROUP,
    deps=MARTS,
    kinds={"scikitlearn"},
    description="A new registered version of each risk model, trained on its feature mart.",
)
def risk_models(
    context: AssetExecutionContext,
    config: TrainingConfig,
    warehouse: WarehouseResource,
    model_registry: ModelRegistryResource,
) -> MaterializeResult[None]:
    registry = model_registry.registry()
    as_of = date.fromisoformat(config.as_of) if config.as_of else datetime.now(UTC).date()
    trained: dict[str, dict[str, object]] = {}
    for spec in _specs(config.models):
        with warehouse.connect() as client:
            tenants = [uuid.UUID(t) for t in config.tenants] or mart_tenants(client, spec)
            units = mart_units(client, spec, tenants=tenants, complete=True)
        model = train(
            spec,
            units,
            as_of=as_of,
            tenants=[str(t) for t in tenants],
            test_days=config.test_days,
        )
        version = registry.register(model)
        test = model.metrics["test"]
        trained[spec.name] = {
            "version": version,
            "test_auroc": test.auroc,
            "test_calibration_slope": test.calibration_slope,
            **model.counts,
        }
        context.log.info(f"{spec.name} version {version}: test AUROC {test.auroc}")
    return MaterializeResult(metadata={"models": trained})


def _score_tenant(
    warehouse: WarehouseResource,
    session: Session,
    registry: Registry,
    tenant_id: uuid.UUID,
    computed_at: datetime,
) -> dict[str, int]:
    written: dict[str, int] = {}
    for spec in MODELS.values():
        if registry.current_version(spec.name) is None:
            continue
        model = registry.load(spec.name)
        with warehouse.connect() as client:
            batch = tenant_scores(client, model, tenant_id=tenant_id, computed_at=computed_at)
        with session.begin():
            bind_tenant(session, tenant_id)
            written[spec.name] = record_scores(
                session=session, tenant_id=tenant_id, scores=batch.scores, actor=PIPELINE_ACTOR
            )
        written[f"{spec.name}_refused"] = batch.refused
    return written


@asset(
    name="risk_scores",
    group_name=ML_GROUP,
    deps=[AssetKey(["risk_models"]), *MARTS],
    kinds={"postgres"},
    description="Today's risk score of every active patient each model applies to, written "
    "back to PostgreSQL (risk_scores) for the API.",
)
def risk_scores(
    context: AssetExecutionContext,
    config: TenantsConfig,
    warehouse: WarehouseResource,
    postgres: PostgresResource,
    model_registry: ModelRegistryResource,
) -> MaterializeResult[None]:
    registry = model_registry.registry()
    computed_at = datetime.now(UTC)
    with warehouse.connect() as client:
        found = sorted({t for spec in MODELS.values() for t in mart_tenants(client, spec)})
    tenants = _tenants(config, found)
    engine = create_engine(postgres.owner_url)
    totals: dict[str, int] = {}
    try:
        with Session(engine) as session:
            for tenant_id in tenants:
                for name, count in _score_tenant(
                    warehouse, session, registry, tenant_id, computed_at
                ).items():
                    totals[name] = totals.get(name, 0) + count
    finally:
        engine.dispose()
    context.log.info(f"scores written: {totals}")
    return MaterializeResult(
        metadata={"tenants": len(tenants), "computed_at": computed_at.isoformat(), **totals}
    )


@asset(
    name="risk_model_monitoring",
    group_name=ML_GROUP,
    deps=[AssetKey(["risk_scores"])],
    kinds={"clickhouse"},
    description="Score drift (PSI against training) and calibration on outcomes after the "
    "training data, per tenant and model: ops.model_monitoring.",
)
def risk_model_monitoring(
    context: AssetExecutionContext,
    config: TenantsConfig,
    warehouse: WarehouseResource,
    model_registry: ModelRegistryResource,
) -> MaterializeResult[None]:
    registry = model_registry.registry()
    computed_at = datetime.now(UTC)
    rows = []
    for spec in MODELS.values():
        if registry.current_version(spec.name) is None:
            continue
        model = registry.load(spec.name)
        with warehouse.connect() as client:
            tenants = _tenants(config, mart_tenants(client, spec))
        for tenant_id in tenants:
            with warehouse.connect() as client:
                rows.append(monitor(client, model, tenant_id=tenant_id, computed_at=computed_at))
    with warehouse.connect() as client:
        write_rows(client, rows)
    drifted = sum(1 for row in rows if row.drift in ("moderate", "large"))
    context.log.info(f"{len(rows)} monitoring rows, {drifted} with drift")
    return MaterializeResult(metadata={"rows": len(rows), "drifted": drifted})


risk_training_job = define_asset_job(
    "risk_training",
    selection=[AssetKey(["risk_models"])],
    description="Train and register a new version of each risk model.",
)
risk_scoring_job = define_asset_job(
    "risk_scoring",
    selection=[AssetKey(["risk_scores"]), AssetKey(["risk_model_monitoring"])],
    description="Score every active patient, write the scores back, and monitor the models.",
)
