"""A seeded population, replicated into a throwaway chDB and built by `emr-dbt build`, once
per module; and the same tenant's source rows from PostgreSQL, for independent recomputation.

The marts are read twice: as built (small cells suppressed), and after re-running the
aggregate marts with the suppression threshold at 1 (nothing suppressed), so KPI figures can
be compared exactly even where a 400-patient clinic has small cells, and every suppressed cell
can be checked against its true count.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
import pytest

from pipelines.replication import full_resync
from tests.factories.identity import make_tenant
from tests.factories.patients import make_patient
from transactional.database import Database
from transactional.settings import Settings
from transactional.synthetic.seed import seed_population, tenant_for
from warehouse.client import Warehouse
from warehouse.dbt_runner import DbtRun, run_dbt

AS_OF = date(2026, 11, 22)
PATIENTS = 400

# Aggregate marts, and the count columns small-cell suppression applies to.
AGGREGATES = {
    "rev_ar_aging": ["open_invoice_count", "patient_count"],
    "rev_kpi_summary": [
        "open_invoice_count",
        "invoices_last_90_days",
        "period_invoice_count",
        "period_patient_count",
        "submitted_claims",
        "denied_claims",
    ],
    "rev_collections_monthly": ["invoice_count", "patient_count"],
    "rev_denials_by_payer": ["submitted_claims", "patient_count", "denied_claims"],
    "rev_denials_by_reason": ["denied_claims", "payer_submitted_claims"],
    "rev_payer_mix": ["invoice_count", "patient_count"],
    "rev_revenue_monthly": ["charge_line_count", "encounter_count", "patient_count"],
    "ph_utilization_monthly": [
        "member_months",
        "ed_visits",
        "inpatient_admissions",
        "index_stays",
        "readmissions",
    ],
    "ph_utilization_summary": [
        "members",
        "ed_visits",
        "inpatient_admissions",
        "index_stays",
        "readmissions",
    ],
    "ph_risk_tier_summary": ["patient_count"],
    "ph_condition_prevalence": ["population", "patients_with_condition"],
    "qm_measure_rates": [
        "initial_population",
        "denominator",
        "exclusions",
        "numerator",
        "care_gaps",
    ],
}
PATIENT_LEVEL = ["ph_readmissions", "qm_care_gaps", "qm_measure_results"]


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


@dataclass(frozen=True)
class Built:
    """The dbt-built warehouse of one seeded tenant."""

    database: Database
    settings: Settings
    warehouse: Warehouse
    tenant_id: uuid.UUID
    newcomer_id: uuid.UUID
    """A tenant with one patient and nothing else."""
    run: DbtRun
    suppressed: dict[str, pl.DataFrame]
    """Every aggregate and patient-level mart as built (threshold 11)."""
    shown: dict[str, pl.DataFrame]
    """The aggregate marts rebuilt with suppression off (threshold 1)."""

    def source(self, sql: str) -> pl.DataFrame:
        """The tenant's PostgreSQL rows for `sql`, which filters on `:tenant`."""
        with self.database.owner_engine.connect() as connection:
            return pl.read_database(
                sql.replace(":tenant", f"'{self.tenant_id}'::uuid"),
                connection=connection,
                infer_schema_length=None,
            )


def read_marts(warehouse: Warehouse, tenant_id: uuid.UUID, names: list[str]) -> dict[str, Any]:
    marts = {}
    with warehouse.connect() as client:
        for name in names:
            result = client.query(
                f"SELECT * FROM analytics.`{name}` WHERE tenant_id = %(tenant)s",
                parameters={"tenant": str(tenant_id)},
            )
            rows = [[_plain(v) for v in row] for row in result.result_rows]
            marts[name] = pl.DataFrame(
                rows, schema=list(result.column_names), orient="row", infer_schema_length=None
            )
    return marts


@pytest.fixture(scope="module")
def built(
    own_database: Callable[[str], Database],
    base_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Built:
    database = own_database("dbt")
    slug = f"dbt-{uuid.uuid4().hex[:8]}"
    seed_population(
        database=database, slug=slug, patients=PATIENTS, seed=20261122, as_of=AS_OF, progress=None
    )
    tenant_id = tenant_for(database, slug).id
    # A clinic on its first day: one registered patient, no encounters or claims yet.
    newcomer = make_tenant(database=database)
    make_patient(database=database, tenant=newcomer)
    root = tmp_path_factory.mktemp("dbt")
    settings = base_settings.model_copy(
        update={"state_dir": root, "warehouse_url": None, "warehouse_lock_timeout_seconds": 300}
    )
    warehouse = Warehouse.from_settings(settings)
    with warehouse.connect() as client:
        full_resync(source=database.urls.owner, client=client)
    run = run_dbt(
        ["build"], settings=settings, as_of=AS_OF, target_dir=root / "target", check=False
    )
    assert run.returncode == 0, run.output[-6000:]
    suppressed = read_marts(warehouse, tenant_id, [*AGGREGATES, *PATIENT_LEVEL])
    run_dbt(
        [
            "run",
            "--select",
            *AGGREGATES,
            "--vars",
            json.dumps({"as_of_date": AS_OF.isoformat(), "small_cell_threshold": 1}),
        ],
        settings=settings,
        target_dir=root / "target-unsuppressed",
    )
    shown = read_marts(warehouse, tenant_id, list(AGGREGATES))
    return Built(database, settings, warehouse, tenant_id, newcomer.id, run, suppressed, shown)
