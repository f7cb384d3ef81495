"""Care-gap reminders as a Dagster asset: after the dbt build, each tenant's open care gaps
(analytics.qm_care_gaps) are synced into PostgreSQL as clinical alerts, where the clinician's
patient view shows them (`transactional/cds/care_gaps.py`).

Every tenant with gaps in the mart, or with open reminders in PostgreSQL (whose gaps may all
have closed), is synced in a transaction of its own with the tenant bound. The warehouse is
read once per tenant and released before PostgreSQL is written.
"""

# ruff: noqa: S608 - the table and column names are constants; values travel as parameters.

import uuid
from typing import Any

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from pipelines.resources import PostgresResource, WarehouseResource
from transactional.alerts.models import ClinicalAlert
from transactional.audit.trail import Actor
from transactional.cds.care_gaps import SOURCE, CareGap, sync_care_gaps
from transactional.tenancy import bind_tenant

CARE_GAPS_MART = "qm_care_gaps"
PIPELINE_ACTOR = Actor(user_id=None, role="system", user_agent="dagster:care_gap_reminders")
_EVIDENCE = (
    "evidence_date",
    "evidence_code_system",
    "evidence_code",
    "evidence_value",
    "evidence_unit",
    "evidence_text",
)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def mart_gap_tenants(warehouse: WarehouseResource) -> set[uuid.UUID]:
    with warehouse.connect() as client:
        rows = client.query(
            f"SELECT DISTINCT toString(tenant_id) FROM analytics.{CARE_GAPS_MART}"
        ).result_rows
    return {uuid.UUID(row[0]) for row in rows}


def tenant_gaps(warehouse: WarehouseResource, tenant_id: uuid.UUID) -> list[CareGap]:
    columns = ", ".join(_EVIDENCE)
    with warehouse.connect() as client:
        result = client.query(
            "SELECT toString(patient_id), measure_id, measure_version, period_start, "
            f"period_end, gap_description, {columns} "
            f"FROM analytics.{CARE_GAPS_MART} WHERE tenant_id = %(tenant)s",
            parameters={"tenant": str(tenant_id)},
        )
        rows = result.result_rows
    return [
        CareGap(
            patient_id=uuid.UUID(row[0]),
            measure_id=row[1],
            measure_version=row[2],
            period_start=row[3],
            period_end=row[4],
            description=row[5],
            evidence={name: _plain(value) for name, value in zip(_EVIDENCE, row[6:], strict=True)},
        )
        for row in rows
    ]


@asset(
    name="care_gap_reminders",
    group_name="decision_support",
    deps=[AssetKey([CARE_GAPS_MART])],
    kinds={"postgres"},
    description="Each tenant's open care gaps from the quality-measure marts, as care-gap "
    "reminder alerts in PostgreSQL (raised, kept, or resolved when the gap closed).",
)
def care_gap_reminders(
    context: AssetExecutionContext, warehouse: WarehouseResource, postgres: PostgresResource
) -> MaterializeResult[None]:
    engine = create_engine(postgres.owner_url)
    totals = {"tenants": 0, "raised": 0, "kept": 0, "resolved": 0, "snoozed": 0}
    unknown: set[str] = set()
    try:
        with Session(engine) as session:
            with_reminders = set(
                session.scalars(
                    select(ClinicalAlert.tenant_id)
                    .where(ClinicalAlert.source == SOURCE, ClinicalAlert.status == "open")
                    .distinct()
                )
            )
            session.rollback()
            for tenant_id in sorted(mart_gap_tenants(warehouse) | with_reminders):
                gaps = tenant_gaps(warehouse, tenant_id)
                with session.begin():
                    bind_tenant(session, tenant_id)
                    report = sync_care_gaps(
                        session=session, tenant_id=tenant_id, gaps=gaps, actor=PIPELINE_ACTOR
                    )
                totals["tenants"] += 1
                totals["raised"] += report.raised
                totals["kept"] += report.kept
                totals["resolved"] += report.resolved
                totals["snoozed"] += report.snoozed
                unknown |= report.unknown_measures
    finally:
        engine.dispose()
    if unknown:
        context.log.warning(f"measures without a reminder definition: {sorted(unknown)}")
    context.log.info(f"care-gap reminders: {totals}")
    return MaterializeResult(metadata={**totals, "measures_without_reminder": sorted(unknown)})
