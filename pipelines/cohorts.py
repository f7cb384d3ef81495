"""Cohorts as a Dagster asset: after the dbt build, every shipped cohort definition
(`dbt_project/cohorts/*.yml`) is materialized for every tenant in the warehouse.

Definitions are read when the asset runs, not when the code location loads, so a new or
edited YAML file needs no redeploy. The warehouse is taken once per cohort, so in embedded
mode other processes get their turn between cohorts.
"""

import uuid

from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, asset
from pydantic import Field

from pipelines.resources import WarehouseResource
from warehouse.cohorts.loader import shipped_definitions
from warehouse.cohorts.runner import materialize_cohort, warehouse_tenants

COHORTS_GROUP = "cohorts"
UPSTREAM = (AssetKey(["cohort_events"]), AssetKey(["stg_patients"]), AssetKey(["value_sets"]))


class CohortsConfig(Config):
    cohorts: list[str] = Field(
        default_factory=list, description="Shipped cohorts to build; empty: all of them."
    )
    tenants: list[str] = Field(
        default_factory=list, description="Tenant ids; empty: every tenant in the warehouse."
    )


@asset(
    name="cohort_tables",
    group_name=COHORTS_GROUP,
    deps=list(UPSTREAM),
    kinds={"clickhouse"},
    description=(
        "analytics.cohort_membership, cohort_outcomes, cohort_attrition and "
        "cohort_characterization for every shipped cohort definition and tenant; every "
        "published count of 1 to 10 suppressed."
    ),
)
def cohort_tables(
    context: AssetExecutionContext, config: CohortsConfig, warehouse: WarehouseResource
) -> MaterializeResult[None]:
    definitions = shipped_definitions()
    unknown = sorted(set(config.cohorts) - set(definitions))
    if unknown:
        raise ValueError(f"no shipped cohort named: {', '.join(unknown)}")
    chosen = [definitions[name] for name in config.cohorts] or list(definitions.values())
    with warehouse.connect() as client:
        tenants = [uuid.UUID(t) for t in config.tenants] or warehouse_tenants(client)
    built: dict[str, dict[str, int]] = {}
    for definition in chosen:
        with warehouse.connect() as client:
            results = [
                materialize_cohort(client, definition=definition, tenant_id=tenant)
                for tenant in tenants
            ]
        built[definition.name] = {
            "tenants": len(results),
            "tenants_with_suppressed_size": sum(r.size is None for r in results),
            "members_in_unsuppressed_tenants": sum(r.size or 0 for r in results),
        }
        context.log.info(
            f"cohort {definition.name} v{definition.version}: {built[definition.name]}"
        )
    return MaterializeResult(
        metadata={
            "cohorts": sorted(built),
            "tenants": len(tenants),
            "summary": built,
        }
    )
