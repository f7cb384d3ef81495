"""The Dagster code location: it loads, its sensor reacts to the change log, its jobs run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    SensorResult,
    SkipReason,
    build_sensor_context,
)
from dagster._core.test_utils import create_run_for_test

from pipelines.definitions import CATCH_UP_JOB, build_definitions
from pipelines.replication_assets import marts_sensor, replication_sensor
from pipelines.resources import PostgresResource, WarehouseResource
from tests.factories.identity import make_tenant
from tests.factories.patients import make_patient
from transactional.capture.scope import captured_tables
from transactional.database import Database


@pytest.fixture
def postgres(database: Database) -> PostgresResource:
    return PostgresResource(
        owner_database_url=database.urls.owner.render_as_string(hide_password=False)
    )


@pytest.fixture
def warehouse(tmp_path: Path) -> WarehouseResource:
    return WarehouseResource(data_dir=str(tmp_path / "chdb"))


def test_definitions_load_with_every_raw_table_a_job_and_the_sensor(
    postgres: PostgresResource, warehouse: WarehouseResource
) -> None:
    definitions = build_definitions(warehouse=warehouse, postgres=postgres)
    Definitions.validate_loadable(definitions)
    keys = set(definitions.resolve_asset_graph().get_all_asset_keys())
    assert {AssetKey(["raw", t.name]) for t in captured_tables()} <= keys
    assert definitions.resolve_job_def("replicate") is not None
    assert definitions.resolve_job_def(CATCH_UP_JOB) is not None
    assert definitions.resolve_sensor_def("replication_sensor") is not None
    assert definitions.resolve_sensor_def("marts_sensor") is not None
    assert definitions.resolve_job_def("first_build") is not None


def test_the_sensor_asks_for_a_pass_only_when_the_change_log_grew(
    database: Database, postgres: PostgresResource
) -> None:
    tenant = make_tenant(database=database)
    first = replication_sensor(build_sensor_context(resources={"postgres": postgres}))
    assert isinstance(first, SensorResult) and len(first.run_requests or []) == 1

    again = replication_sensor(
        build_sensor_context(cursor=first.cursor, resources={"postgres": postgres})
    )
    assert isinstance(again, SkipReason)

    make_patient(database=database, tenant=tenant)
    grown = replication_sensor(
        build_sensor_context(cursor=first.cursor, resources={"postgres": postgres})
    )
    assert isinstance(grown, SensorResult) and int(grown.cursor or 0) > int(first.cursor or 0)


def test_the_marts_sensor_rebuilds_only_after_changes_and_never_twice_at_once(
    database: Database, postgres: PostgresResource
) -> None:
    tenant = make_tenant(database=database)
    with DagsterInstance.ephemeral() as instance:

        def look(cursor: str | None) -> SensorResult | SkipReason:
            context = build_sensor_context(
                cursor=cursor, instance=instance, resources={"postgres": postgres}
            )
            result = marts_sensor(context)
            assert isinstance(result, SensorResult | SkipReason)
            return result

        # Its first look only notes where the change log stands: the marts were just built.
        first = look(None)
        assert isinstance(first, SensorResult) and not first.run_requests and first.cursor
        assert isinstance(look(first.cursor), SkipReason)

        make_patient(database=database, tenant=tenant)
        grown = look(first.cursor)
        assert isinstance(grown, SensorResult) and len(grown.run_requests or []) == 1
        assert int(grown.cursor or 0) > int(first.cursor)

        # While a catch-up run is under way, it waits for it rather than queue another.
        run = create_run_for_test(instance, job_name=CATCH_UP_JOB, status=DagsterRunStatus.STARTED)
        busy = look(first.cursor)
        assert isinstance(busy, SkipReason) and run.run_id in (busy.skip_message or "")
        instance.report_run_failed(run)
        again = look(first.cursor)
        assert isinstance(again, SensorResult) and len(again.run_requests or []) == 1


def test_the_replication_job_reports_what_it_wrote_to_each_raw_table(
    database: Database, postgres: PostgresResource, warehouse: WarehouseResource
) -> None:
    tenant = make_tenant(database=database)
    definitions = build_definitions(warehouse=warehouse, postgres=postgres)
    job = definitions.resolve_job_def("replicate")
    with DagsterInstance.ephemeral() as instance:
        assert job.execute_in_process(instance=instance).success
        make_patient(database=database, tenant=tenant)
        second = job.execute_in_process(instance=instance)
    assert second.success
    written = {
        m.asset_key: m.metadata["rows_written"].value
        for m in second.asset_materializations_for_node("raw_tables")
    }
    assert written[AssetKey(["raw", "patients"])] == 1
    assert written[AssetKey(["raw", "claims"])] == 0


def test_pipeline_commands_replicate_and_report_status(database: Database, tmp_path: Path) -> None:
    tenant = make_tenant(database=database)
    env = os.environ | {
        "EMR_DATABASE_URL": database.urls.owner.render_as_string(hide_password=False),
        "EMR_STATE_DIR": str(tmp_path),
    }
    env.pop("EMR_APP_DATABASE_URL", None)
    emr = str(Path(sys.executable).with_name("emr"))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [emr, "pipeline", *args], env=env, capture_output=True, text=True, timeout=300
        )

    first = run("replicate")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("resync: ")
    make_patient(database=database, tenant=tenant)
    second = run("replicate")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("incremental: ") and "oldest change" in second.stdout
    status = run("status")
    assert status.returncode == 0, status.stderr
    assert "checkpoint" in status.stdout and "1 incremental passes" in status.stdout
