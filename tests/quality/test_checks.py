"""Quality checks through Dagster on a replicated population: clean data passes, and each
planted defect fails exactly the check that guards against it, visibly and on record."""

import uuid
from collections.abc import Iterable
from decimal import Decimal

import pyarrow.compute as pc
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    AssetSelection,
)

from pipelines.quality import mart_expectations, mart_quality_checks, row_count_checks
from pipelines.replication import replicate
from pipelines.replication_assets import raw_key
from tests.factories.patients import make_patient
from tests.quality.conftest import Checked, plant, tenant_rows, with_value
from transactional.capture.scope import captured_tables
from transactional.database import Database
from warehouse.quality import latest_outcomes
from warehouse.quality_frames import ROW_COUNT

HEART_RATE = "8867-4"


def _failed(
    evaluations: Iterable[AssetCheckEvaluation],
) -> dict[tuple[str, str], AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in evaluations if not e.passed}


def _stored(checked: Checked, run_id: str) -> list[tuple[str, str, str, str, list[str]]]:
    with checked.warehouse.connect() as client:
        return [
            (row[0], row[1], row[2], row[3], list(row[4]))
            for row in client.query(
                "SELECT asset, check_name, status, severity, failing_keys "
                "FROM ops.check_results WHERE run_id = {run:String}",
                parameters={"run": run_id},
            ).result_rows
        ]


def _metadata_keys(evaluation: AssetCheckEvaluation) -> list[str]:
    value = evaluation.metadata["failing_keys"].value
    assert isinstance(value, list)
    return [str(key) for key in value]


PLANTED = {
    ("raw/observations", "values_in_range"),
    ("raw/patients", "keys_unique"),
    ("raw/lab_results", "references_resolve"),
    ("raw/claim_events", "row_count_matches_postgres"),
}


def test_checks_pass_on_clean_data_and_each_planted_defect_fails_exactly_its_check(
    checked: Checked,
) -> None:
    targeted = AssetSelection.checks(
        *(AssetCheckKey(AssetKey(asset.split("/")), check) for asset, check in PLANTED)
    )
    before = checked.run(targeted).get_asset_check_evaluations()
    assert {(e.asset_key.to_user_string(), e.check_name) for e in before} == PLANTED
    assert _failed(before) == {}

    observations = tenant_rows(checked, "observations")
    heart_rates = observations.filter(pc.equal(observations.column("code"), HEART_RATE))
    implausible = with_value(heart_rates.slice(0, 1), "value", Decimal("500"))
    plant(checked, "observations", implausible)
    patients = tenant_rows(checked, "patients")
    first, second = patients.slice(0, 1), patients.slice(1, 1)
    twin = with_value(second, "mrn", first.column("mrn")[0].as_py())
    plant(checked, "patients", twin)
    results = tenant_rows(checked, "lab_results")
    orphan = with_value(results.slice(0, 1), "order_id", uuid.uuid4())
    plant(checked, "lab_results", orphan)
    events = tenant_rows(checked, "claim_events")  # nothing references a claim event
    gone = events.slice(0, 1).select(["id", "tenant_id"])
    plant(checked, "claim_events", gone, deleted=True)
    assert all(rows.num_rows == 1 for rows in (implausible, twin, orphan, gone))

    result = checked.run()

    evaluations = result.get_asset_check_evaluations()
    assert result.success
    assert {e.asset_key for e in evaluations} == {raw_key(t.name) for t in captured_tables()}
    failed = _failed(evaluations)
    assert set(failed) == PLANTED
    ids = {
        table: str(rows.column("id")[0].as_py())
        for table, rows in (
            ("observations", implausible),
            ("lab_results", orphan),
            ("patients", first),
            ("twin", twin),
        )
    }
    assert _metadata_keys(failed[("raw/observations", "values_in_range")]) == [ids["observations"]]
    assert sorted(_metadata_keys(failed[("raw/patients", "keys_unique")])) == sorted(
        [ids["patients"], ids["twin"]]
    )
    assert _metadata_keys(failed[("raw/lab_results", "references_resolve")]) == [ids["lab_results"]]
    assert failed[("raw/observations", "values_in_range")].severity == AssetCheckSeverity.WARN
    count = failed[("raw/claim_events", "row_count_matches_postgres")]
    assert count.severity == AssetCheckSeverity.ERROR
    assert count.metadata["failing_rows"].value == 1

    stored = _stored(checked, result.run_id)
    assert {
        (asset, check) for asset, check, status, _, _ in stored if status == "failed"
    } == PLANTED
    by_check = {(a, c): (severity, keys) for a, c, status, severity, keys in stored if keys}
    assert by_check[("raw/observations", "values_in_range")] == ("WARN", [ids["observations"]])
    assert by_check[("raw/lab_results", "references_resolve")] == ("ERROR", [ids["lab_results"]])
    skipped = {asset for asset, _, status, _, _ in stored if status == "skipped"}
    assert skipped == {mart.name for mart in mart_expectations()}
    with checked.warehouse.connect() as client:
        latest = latest_outcomes(client)
    assert any(
        o.asset == "raw/patients" and o.check == "keys_unique" and o.status == "failed"
        for o in latest
    )


def test_a_row_count_gap_while_changes_await_replication_is_a_warning(
    checked: Checked, quality_database: Database
) -> None:
    database = quality_database
    make_patient(database=database, tenant=checked.tenant)
    selection = AssetSelection.checks(row_count_checks())

    behind = checked.run(selection)
    failed = _failed(behind.get_asset_check_evaluations())
    lagging = failed[("raw/patients", "row_count_matches_postgres")]
    assert lagging.severity == AssetCheckSeverity.WARN
    assert "not replicated yet" in str(lagging.description)

    with checked.warehouse.connect() as client:
        replicate(source=database.urls.owner, client=client)
    caught_up = checked.run(selection)
    assert _failed(caught_up.get_asset_check_evaluations()) == {}


def test_the_checksum_mode_catches_changed_content_that_counts_miss(checked: Checked) -> None:
    observations = tenant_rows(checked, "observations")
    plant(checked, "observations", with_value(observations.slice(0, 1), "display", "altered"))
    selection = AssetSelection.checks(AssetCheckKey(raw_key("observations"), ROW_COUNT))

    counted = checked.run(selection)
    summed = checked.run(selection, config={"raw_row_counts": {"config": {"checksum": True}}})

    assert _failed(counted.get_asset_check_evaluations()) == {}
    failed = _failed(summed.get_asset_check_evaluations())
    differs = failed[("raw/observations", ROW_COUNT)]
    assert differs.severity == AssetCheckSeverity.ERROR
    assert "content differs" in str(differs.description)


def test_a_built_mart_is_checked_for_keys_rates_and_counts(checked: Checked) -> None:
    tenant = str(checked.tenant.id)
    with checked.warehouse.connect() as client:
        client.command("CREATE DATABASE IF NOT EXISTS analytics")
        client.command(
            "CREATE TABLE analytics.ph_risk_tier_summary (tenant_id UUID, risk_tier String, "
            "tier_order UInt8, patient_count Nullable(Int64), patient_share Nullable(Float64), "
            "is_suppressed Bool, as_of_date Date) ENGINE = MergeTree ORDER BY tenant_id"
        )
        client.insert(
            "analytics.ph_risk_tier_summary",
            [
                [tenant, "high", 1, 20, 0.25, False],
                [tenant, "rising", 2, None, None, True],
                [tenant, "low", 3, 40, 0.75, False],
            ],
            column_names=[
                "tenant_id",
                "risk_tier",
                "tier_order",
                "patient_count",
                "patient_share",
                "is_suppressed",
            ],
        )
    selection = AssetSelection.checks(mart_quality_checks())

    clean = checked.run(selection)
    evaluations = clean.get_asset_check_evaluations()
    assert {e.asset_key for e in evaluations} == {AssetKey(["ph_risk_tier_summary"])}
    assert _failed(evaluations) == {}

    with checked.warehouse.connect() as client:
        client.insert(
            "analytics.ph_risk_tier_summary",
            [[tenant, "low", 3, -4, 1.5, False]],
            column_names=[
                "tenant_id",
                "risk_tier",
                "tier_order",
                "patient_count",
                "patient_share",
                "is_suppressed",
            ],
        )
    broken = checked.run(selection)
    failed = _failed(broken.get_asset_check_evaluations())
    assert set(failed) == {
        ("ph_risk_tier_summary", "keys_unique"),
        ("ph_risk_tier_summary", "rates_within_0_1"),
        ("ph_risk_tier_summary", "counts_not_negative"),
    }
    repeated = failed[("ph_risk_tier_summary", "keys_unique")]
    assert _metadata_keys(repeated) == [f"('{tenant}','low')"]
    assert repeated.metadata["failing_rows"].value == 2


def test_ids_leave_the_warehouse_but_business_keys_do_not(checked: Checked) -> None:
    patients = tenant_rows(checked, "patients")
    twin = with_value(patients.slice(1, 1), "mrn", patients.column("mrn")[0].as_py())
    plant(checked, "patients", twin)
    mrn = str(patients.column("mrn")[0].as_py())

    result = checked.run(AssetSelection.checks_for_assets(AssetKey(["raw", "patients"])))

    evaluation = _failed(result.get_asset_check_evaluations())[("raw/patients", "keys_unique")]
    shown = str(evaluation.metadata) + str(evaluation.description)
    assert "(tenant_id, mrn) is unique" in shown
    assert mrn not in shown
    with checked.warehouse.connect() as client:
        stored = client.query(
            "SELECT observed, expected, failing_keys FROM ops.check_results "
            "WHERE run_id = {run:String}",
            parameters={"run": result.run_id},
        ).result_rows
    assert stored and mrn not in str(stored)
