"""One catch-up run (`emr pipeline run`'s Dagster job) over a Synthea import, end to end:
replicate, dbt build on chDB, cohorts, checks, scoring."""

import csv
from pathlib import Path

from dagster import DagsterInstance
from sqlalchemy import URL, text

from pipelines.definitions import CATCH_UP_JOB, build_definitions
from pipelines.ml_assets import ModelRegistryResource
from pipelines.resources import PostgresResource, WarehouseResource
from tests.factories.identity import make_tenant
from tests.factories.synthea import SAMPLE, import_sample
from transactional.database import Database, DatabaseUrls
from transactional.schema import upgrade
from transactional.settings import Settings
from warehouse.client import Warehouse


def _table(file: str) -> list[dict[str, str]]:
    with (SAMPLE / file).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_after_a_synthea_import_and_one_run_the_marts_show_its_patients_and_claims(
    scratch_database: URL, settings: Settings, tmp_path: Path
) -> None:
    # A database of its own: the sample's few implausible lab values would otherwise reach
    # every later test that checks the whole shared warehouse.
    database = Database(DatabaseUrls(owner=scratch_database, app=scratch_database))
    upgrade(database, app_role=settings.app_db_role)
    tenant = make_tenant(database=database)
    import_sample(database=database, tenant=tenant)
    database.dispose()
    warehouse = WarehouseResource(data_dir=str(tmp_path / "chdb"), lock_timeout_seconds=600)
    definitions = build_definitions(
        warehouse=warehouse,
        postgres=PostgresResource(
            owner_database_url=database.urls.owner.render_as_string(hide_password=False)
        ),
        model_registry=ModelRegistryResource(root=str(tmp_path / "models")),
    )
    with DagsterInstance.ephemeral() as instance:
        result = definitions.resolve_job_def(CATCH_UP_JOB).execute_in_process(
            instance=instance, raise_on_error=False
        )
    assert result.success
    failing_keys = {
        (c.asset_key.to_user_string(), c.check_name): c.metadata["failing_keys"].value
        for c in result.get_asset_check_evaluations()
        if not c.passed
    }
    store = Warehouse(url=None, data_dir=tmp_path / "chdb", lock_timeout=60)
    with store.connect() as client:
        # Every check ran and passed, except that lab results outside the plausibility ranges
        # are flagged: other tests plant such values on purpose, and the Synthea sample has a
        # few outliers of its own.
        assert set(failing_keys) <= {("raw/lab_results", "values_in_range")}
        patients = client.query(
            "SELECT count() FROM analytics.int_patients WHERE tenant_id = {t:UUID}",
            parameters={"t": str(tenant.id)},
        ).result_rows[0][0]
        claims = client.query(
            "SELECT count(), countIf(data_source = 'synthea') FROM analytics.stg_claims "
            "WHERE tenant_id = {t:UUID}",
            parameters={"t": str(tenant.id)},
        ).result_rows[0]
        billed = client.query(
            "SELECT count() FROM analytics.rev_claims WHERE tenant_id = {t:UUID}",
            parameters={"t": str(tenant.id)},
        ).result_rows[0][0]
        accounts = client.query(
            "SELECT count() FROM analytics.rev_invoices WHERE tenant_id = {t:UUID}",
            parameters={"t": str(tenant.id)},
        ).result_rows[0][0]
        gaps = client.query(
            "SELECT count(DISTINCT measure_id, patient_id) FROM analytics.qm_care_gaps "
            "WHERE tenant_id = {t:UUID}",
            parameters={"t": str(tenant.id)},
        ).result_rows[0][0]
    with database.owner_engine.connect() as connection:
        reminders: int = connection.execute(
            text(
                "SELECT count(*) FROM clinical_alerts WHERE tenant_id = :t "
                "AND source = 'care_gaps' AND status = 'open'"
            ),
            {"t": tenant.id},
        ).scalar_one()
    database.dispose()
    # The run turned the marts' care gaps into reminders in PostgreSQL, one per gap.
    assert reminders == gaps
    # Every claims.csv row is an encounter's account (invoice); a payer claim exists for the
    # insured ones and for each transfer to a secondary payer (as the importer maps them).
    rows = _table("claims.csv")
    no_insurance = {r["Id"] for r in _table("payers.csv") if r["NAME"] == "NO_INSURANCE"}
    insured = [r for r in rows if r["PRIMARYPATIENTINSURANCEID"] not in ("0", *no_insurance)]
    to_secondary = {
        t["CLAIMID"]
        for t in _table("claims_transactions.csv")
        if t["TRANSFERTYPE"] == "2" and t["TYPE"] == "TRANSFERIN"
    }
    payer_claims = len(insured) + len(to_secondary)
    assert patients == len(_table("patients.csv"))
    assert claims == (payer_claims, payer_claims)
    assert billed == payer_claims
    assert accounts == len({r["APPOINTMENTID"] for r in rows})
