"""The marts of a generated population against an independent polars computation over the
same tenant's PostgreSQL rows, and small-cell suppression in every aggregate mart.

Each KPI is recomputed from the source tables with the definitions of dbt_project/README.md
and compared with the marts rebuilt without suppression: integers (counts, cents) exactly,
rates to 1e-9, PMPM to the cent. The marts as built must then show exactly those figures,
except where a count behind them is 1-10.
"""

import csv
import math
from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest
from dagster import materialize

from pipelines.cds_assets import care_gap_reminders
from pipelines.resources import PostgresResource, WarehouseResource
from tests.dbt.conftest import AGGREGATES, AS_OF, Built, read_marts
from warehouse.dbt_runner import PROJECT_DIR

PERIOD_START = date(2025, 11, 23)  # the day after AS_OF one year earlier
THRESHOLD = 11


def close(actual: object, expected: float) -> bool:
    return isinstance(actual, float) and math.isclose(actual, expected, rel_tol=1e-9)


# --- source rows ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def patients(built: Built) -> pl.DataFrame:
    return built.source(
        "SELECT id::text AS patient_id, birth_date, deceased_date FROM patients"
        " WHERE tenant_id = :tenant AND NOT is_deleted AND merged_into_id IS NULL"
    ).filter(pl.col("birth_date") <= AS_OF)


@pytest.fixture(scope="module")
def accounts(built: Built, patients: pl.DataFrame) -> pl.DataFrame:
    """Invoices as of AS_OF from the ledger rows, with the payer of their coverage."""
    invoices = built.source(
        "SELECT i.id::text AS invoice_id, i.patient_id::text AS patient_id, i.service_date,"
        " y.name AS payer_name FROM invoices i"
        " LEFT JOIN coverages c ON c.id = i.coverage_id"
        " LEFT JOIN payers y ON y.id = c.payer_id"
        " WHERE i.tenant_id = :tenant AND i.voided_at IS NULL"
    ).filter(pl.col("service_date") <= AS_OF)
    invoices = invoices.join(patients.select("patient_id"), on="patient_id", how="semi")
    charges = (
        built.source(
            "SELECT invoice_id::text AS invoice_id, amount_cents,"
            " (posted_at AT TIME ZONE 'UTC')::date AS posted_date FROM charges"
            " WHERE tenant_id = :tenant AND status = 'active'"
        )
        .filter(pl.col("posted_date") <= AS_OF)
        .group_by("invoice_id")
        .agg(charges=pl.col("amount_cents").sum())
    )
    payments = (
        built.source(
            "SELECT invoice_id::text AS invoice_id, amount_cents, posted_on FROM payments"
            " WHERE tenant_id = :tenant"
        )
        .filter(pl.col("posted_on") <= AS_OF)
        .group_by("invoice_id")
        .agg(payments=pl.col("amount_cents").sum())
    )
    adjustments = (
        built.source(
            "SELECT invoice_id::text AS invoice_id, kind, amount_cents, posted_on"
            " FROM adjustments WHERE tenant_id = :tenant"
        )
        .filter(pl.col("posted_on") <= AS_OF)
        .group_by("invoice_id")
        .agg(
            contractual=pl.col("amount_cents").filter(pl.col("kind") == "contractual").sum(),
            write_off=pl.col("amount_cents").filter(pl.col("kind") == "write_off").sum(),
        )
    )
    ledger = (
        invoices.join(charges, on="invoice_id", how="left")
        .join(payments, on="invoice_id", how="left")
        .join(adjustments, on="invoice_id", how="left")
        .with_columns(pl.col("charges", "payments", "contractual", "write_off").fill_null(0))
        .with_columns(pl.col("payer_name").fill_null("No coverage"))
    )
    age = (pl.lit(AS_OF) - pl.col("service_date")).dt.total_days()
    return ledger.with_columns(
        balance=pl.col("charges")
        - pl.col("payments")
        - pl.col("contractual")
        - pl.col("write_off"),
        bucket=pl.when(age <= 30)
        .then(pl.lit("0-30"))
        .when(age <= 60)
        .then(pl.lit("31-60"))
        .when(age <= 90)
        .then(pl.lit("61-90"))
        .when(age <= 120)
        .then(pl.lit("91-120"))
        .otherwise(pl.lit("120+")),
    )


@pytest.fixture(scope="module")
def encounters(built: Built, patients: pl.DataFrame) -> pl.DataFrame:
    frame = built.source(
        "SELECT id::text AS encounter_id, patient_id::text AS patient_id, encounter_class,"
        " (start_at AT TIME ZONE 'UTC')::date AS encounter_date,"
        " (admitted_at AT TIME ZONE 'UTC')::date AS admission_date,"
        " (discharged_at AT TIME ZONE 'UTC')::date AS discharge_date, discharge_disposition"
        " FROM encounters WHERE tenant_id = :tenant AND status = 'finished'"
    ).filter(pl.col("encounter_date") <= AS_OF)
    return frame.join(patients.select("patient_id"), on="patient_id", how="semi")


@pytest.fixture(scope="module")
def member_months(built: Built, patients: pl.DataFrame) -> pl.DataFrame:
    """Months touched by an active primary coverage, up to AS_OF and death; the later
    coverage wins a month two of them touch."""
    coverages = built.source(
        "SELECT patient_id::text AS patient_id, id::text AS coverage_id, period_start,"
        " period_end FROM coverages"
        " WHERE tenant_id = :tenant AND status = 'active' AND priority = 1"
    ).join(patients, on="patient_id")
    rows = []
    for c in coverages.iter_rows(named=True):
        end = min(d for d in (c["period_end"], AS_OF, c["deceased_date"]) if d is not None)
        month = c["period_start"].replace(day=1)
        while month <= end:
            rows.append((c["patient_id"], month, c["period_start"], c["coverage_id"]))
            month = (month + timedelta(days=32)).replace(day=1)
    frame = pl.DataFrame(
        rows, schema=["patient_id", "month_start", "period_start", "coverage_id"], orient="row"
    )
    return frame.sort("period_start", "coverage_id").unique(
        ["patient_id", "month_start"], keep="last"
    )


# --- the build ---------------------------------------------------------------------------


def test_dbt_build_passes_on_chdb(built: Built) -> None:
    assert built.run.returncode == 0
    summary = [line for line in built.run.output.splitlines() if "Done. PASS=" in line]
    assert summary and "ERROR=0" in summary[-1] and "WARN=0" in summary[-1]
    results = (built.run.target_dir / "run_results.json").read_text()
    assert '"unit_test.emr.' in results  # the KPI unit tests ran with the build


def test_a_clinic_with_patients_but_no_encounters_builds_and_is_scored_at_the_as_of_date(
    built: Built,
) -> None:
    marts = read_marts(built.warehouse, built.newcomer_id, ["int_patients", "ml_t2d_features"])
    assert marts["int_patients"].height == 1
    # No encounter year to start from: the one index date is the as-of date.
    assert marts["ml_t2d_features"]["index_date"].to_list() == [AS_OF]


# --- revenue ---------------------------------------------------------------------------


def test_days_in_ar_and_collection_rates_match_polars(built: Built, accounts: pl.DataFrame) -> None:
    kpi = built.shown["rev_kpi_summary"].row(0, named=True)
    open_accounts = accounts.filter(pl.col("balance") > 0)
    ar = int(open_accounts["balance"].sum())
    recent = accounts.filter(pl.col("service_date") > AS_OF - timedelta(days=90))
    charges_90 = int(recent["charges"].sum())
    period = accounts.filter(pl.col("service_date") >= PERIOD_START)
    charges, payments = int(period["charges"].sum()), int(period["payments"].sum())
    contractual = int(period["contractual"].sum())

    assert kpi["open_invoice_count"] == open_accounts.height
    assert kpi["ar_balance_cents"] == ar
    assert kpi["charges_last_90_days_cents"] == charges_90
    assert close(kpi["days_in_ar"], ar * 90 / charges_90)
    assert kpi["period_charges_cents"] == charges
    assert kpi["period_payments_cents"] == payments
    assert close(kpi["gross_collection_rate"], payments / charges)
    assert close(kpi["net_collection_rate"], payments / (charges - contractual))


def test_ar_aging_buckets_match_polars(built: Built, accounts: pl.DataFrame) -> None:
    mart = built.shown["rev_ar_aging"]
    open_accounts = accounts.filter(pl.col("balance") > 0)
    cells = {
        "n": pl.len(),
        "patients": pl.col("patient_id").n_unique(),
        "balance": pl.col("balance").sum(),
    }
    by_payer = open_accounts.group_by("payer_name", "bucket").agg(**cells)
    overall = open_accounts.group_by("bucket").agg(**cells)
    expected = by_payer.vstack(overall.select(pl.lit("All payers").alias("payer_name"), pl.all()))
    assert mart.height == expected.height
    for row in expected.iter_rows(named=True):
        cell = mart.filter(
            (pl.col("payer_name") == row["payer_name"]) & (pl.col("aging_bucket") == row["bucket"])
        ).row(0, named=True)
        assert cell["open_invoice_count"] == row["n"]
        assert cell["patient_count"] == row["patients"]
        assert cell["ar_balance_cents"] == row["balance"]
    all_payers = mart.filter(pl.col("payer_scope") == "all")["ar_balance_cents"].sum()
    assert all_payers == built.shown["rev_kpi_summary"]["ar_balance_cents"][0]


def test_denial_rate_by_payer_matches_polars(built: Built, accounts: pl.DataFrame) -> None:
    claims = built.source(
        "SELECT c.invoice_id::text AS invoice_id, c.patient_id::text AS patient_id, c.status,"
        " y.name AS payer_name, (c.created_at AT TIME ZONE 'UTC')::date AS created_date"
        " FROM claims c JOIN payers y ON y.id = c.payer_id WHERE c.tenant_id = :tenant"
    ).filter(pl.col("created_date") <= AS_OF)
    in_period = accounts.filter(pl.col("service_date") >= PERIOD_START).select("invoice_id")
    claims = claims.join(in_period, on="invoice_id", how="semi")
    submitted = claims.filter(pl.col("status") != "draft")
    expected = submitted.group_by("payer_name").agg(
        submitted=pl.len(),
        denied=(pl.col("status") == "denied").sum(),
        patients=pl.col("patient_id").n_unique(),
    )
    mart = built.shown["rev_denials_by_payer"]
    assert sorted(mart["payer_name"]) == sorted(expected["payer_name"])
    for row in expected.iter_rows(named=True):
        cell = mart.filter(pl.col("payer_name") == row["payer_name"]).row(0, named=True)
        assert cell["submitted_claims"] == row["submitted"]
        assert cell["denied_claims"] == row["denied"]
        assert close(cell["denial_rate"], row["denied"] / row["submitted"])
    kpi = built.shown["rev_kpi_summary"].row(0, named=True)
    total_submitted, total_denied = int(expected["submitted"].sum()), int(expected["denied"].sum())
    assert total_denied > 0
    assert kpi["submitted_claims"] == total_submitted
    assert close(kpi["denial_rate"], total_denied / total_submitted)


# --- population health ---------------------------------------------------------------------


def test_readmission_rate_matches_polars(built: Built, encounters: pl.DataFrame) -> None:
    stays = encounters.filter(
        (pl.col("encounter_class") == "inpatient") & pl.col("admission_date").is_not_null()
    )
    index = stays.filter(
        pl.col("discharge_date").is_not_null()
        & (pl.col("discharge_date") <= AS_OF)
        & (pl.col("discharge_disposition").fill_null("") != "expired")
    )
    pairs = index.join(stays, on="patient_id", suffix="_next").filter(
        (pl.col("encounter_id") != pl.col("encounter_id_next"))
        & (
            (pl.col("admission_date_next") - pl.col("discharge_date"))
            .dt.total_days()
            .is_between(1, 30)
        )
    )
    readmitted = set(pairs["encounter_id"])
    window_end = AS_OF - timedelta(days=30)
    window_start = window_end.replace(year=window_end.year - 1)
    in_window = index.filter(
        (pl.col("discharge_date") > window_start) & (pl.col("discharge_date") <= window_end)
    )
    stays_n = in_window.height
    readmissions = sum(1 for e in in_window["encounter_id"] if e in readmitted)
    summary = built.shown["ph_utilization_summary"].row(0, named=True)
    assert stays_n > 0
    assert summary["index_stays"] == stays_n
    assert summary["readmissions"] == readmissions
    assert close(summary["readmission_rate"], readmissions / stays_n)
    # By discharge month over the whole history (complete windows only).
    complete = index.filter(pl.col("discharge_date") <= window_end).with_columns(
        month_start=pl.col("discharge_date").dt.truncate("1mo"),
        readmitted=pl.col("encounter_id").is_in(list(readmitted)),
    )
    per_month = complete.group_by("month_start").agg(
        stays=pl.len(), readmissions=pl.col("readmitted").sum()
    )
    monthly = built.shown["ph_utilization_monthly"]
    assert int(per_month["readmissions"].sum()) > 0
    for row in per_month.iter_rows(named=True):
        cell = monthly.filter(pl.col("month_start") == row["month_start"]).row(0, named=True)
        assert (cell["index_stays"], cell["readmissions"]) == (row["stays"], row["readmissions"])
        assert close(cell["readmission_rate"], row["readmissions"] / row["stays"])
    # Patient level: every index stay, flagged the same way.
    facts = built.suppressed["ph_readmissions"]
    assert facts.height == index.height
    assert set(facts.filter(pl.col("is_readmitted_30d"))["index_encounter_id"]) == readmitted


def test_ed_visits_per_1000_and_pmpm_match_polars(
    built: Built,
    encounters: pl.DataFrame,
    accounts: pl.DataFrame,
    member_months: pl.DataFrame,
) -> None:
    months = member_months.filter(
        (pl.col("month_start") >= PERIOD_START.replace(day=1))
        & (pl.col("month_start") <= AS_OF.replace(day=1))
    ).select("patient_id", "month_start")
    visits = encounters.with_columns(month_start=pl.col("encounter_date").dt.truncate("1mo")).join(
        months, on=["patient_id", "month_start"], how="semi"
    )
    ed_visits = visits.filter(pl.col("encounter_class") == "emergency").height
    member_month_count = months.height
    services = accounts.with_columns(month_start=pl.col("service_date").dt.truncate("1mo")).join(
        months, on=["patient_id", "month_start"], how="semi"
    )
    charges, paid = int(services["charges"].sum()), int(services["payments"].sum())

    summary = built.shown["ph_utilization_summary"].row(0, named=True)
    assert summary["members"] == months["patient_id"].n_unique()
    assert summary["member_months"] == member_month_count
    assert ed_visits > 0
    assert summary["ed_visits"] == ed_visits
    assert close(summary["ed_visits_per_1000"], ed_visits * 12000 / member_month_count)
    cents = Decimal("0.01")
    assert summary["charges_cents"] == charges and summary["paid_cents"] == paid
    assert abs(summary["pmpm_charges_cents"] - Decimal(charges) / member_month_count) < cents
    assert abs(summary["pmpm_paid_cents"] - Decimal(paid) / member_month_count) < cents
    # The monthly mart's member months are the same months.
    monthly = built.shown["ph_utilization_monthly"]
    all_months = member_months.group_by("month_start").agg(n=pl.len())
    assert monthly.height == all_months.height
    for row in all_months.iter_rows(named=True):
        cell = monthly.filter(pl.col("month_start") == row["month_start"]).row(0, named=True)
        assert cell["member_months"] == row["n"]


# --- quality ---------------------------------------------------------------------------


def _value_set(name: str) -> set[tuple[str, str]]:
    with (PROJECT_DIR / "seeds" / "value_sets.csv").open() as handle:
        return {
            (r["code_system"], r["code"]) for r in csv.DictReader(handle) if r["value_set"] == name
        }


def test_blood_pressure_care_gap_rate_matches_polars(built: Built, patients: pl.DataFrame) -> None:
    conditions = built.source(
        "SELECT c.patient_id::text AS patient_id, c.code_system, c.code, c.clinical_status,"
        " c.abatement_date,"
        " COALESCE(c.onset_date, (e.start_at AT TIME ZONE 'UTC')::date,"
        " (c.created_at AT TIME ZONE 'UTC')::date) AS recorded_date"
        " FROM conditions c LEFT JOIN encounters e ON e.id = c.encounter_id"
        " WHERE c.tenant_id = :tenant AND c.verification_status = 'confirmed'"
    ).filter(
        (pl.col("recorded_date") <= AS_OF)
        & (pl.col("abatement_date").is_null() | (pl.col("abatement_date") > AS_OF))
        & (
            pl.col("clinical_status").is_in(["active", "recurrence", "relapse"])
            | pl.col("abatement_date").is_not_null()
        )
    )

    def having(value_set: str) -> set[str]:
        codes = _value_set(value_set)
        return {
            r["patient_id"]
            for r in conditions.iter_rows(named=True)
            if (r["code_system"], r["code"]) in codes
        }

    living = patients.filter(
        pl.col("deceased_date").is_null() | (pl.col("deceased_date") > AS_OF)
    ).with_columns(
        age=pl.col("birth_date").map_elements(
            lambda b: AS_OF.year - b.year - ((AS_OF.month, AS_OF.day) < (b.month, b.day)),
            return_dtype=pl.Int64,
        )
    )
    hypertensive = living.filter(pl.col("patient_id").is_in(list(having("hypertension"))))
    readings = (
        built.source(
            "SELECT patient_id::text AS patient_id, code, value, effective_at"
            " FROM observations WHERE tenant_id = :tenant AND status = 'final'"
            " AND code IN ('8480-6', '8462-4')"
        )
        .with_columns(measured=pl.col("effective_at").dt.convert_time_zone("UTC"))
        .filter(pl.col("measured").dt.date().is_between(PERIOD_START, AS_OF))
        .pivot(
            on="code", index=["patient_id", "measured"], values="value", aggregate_function="max"
        )
        .drop_nulls(["8480-6", "8462-4"])
        .sort("measured")
        .group_by("patient_id")
        .last()
    )
    measured = hypertensive.filter(pl.col("age").is_between(18, 85)).join(readings, on="patient_id")
    esrd = having("end_stage_renal_disease")
    eligible = measured.filter(~pl.col("patient_id").is_in(list(esrd)))
    uncontrolled = eligible.filter((pl.col("8480-6") >= 140) | (pl.col("8462-4") >= 90))
    denominator, gaps = eligible.height, uncontrolled.height

    rates = built.shown["qm_measure_rates"]
    row = rates.filter(pl.col("measure_id") == "hypertension_bp_control").row(0, named=True)
    assert gaps > 0
    assert row["denominator"] - row["exclusions"] == denominator
    assert row["care_gaps"] == gaps
    assert close(row["care_gap_rate"], gaps / denominator)
    # The worklist is the same patients, derived from the same long table.
    gap_list = built.suppressed["qm_care_gaps"]
    worklist = gap_list.filter(pl.col("measure_id") == "hypertension_bp_control")
    assert set(worklist["patient_id"]) == set(uncontrolled["patient_id"])


# --- suppression ---------------------------------------------------------------------------


def _key(frame: pl.DataFrame, counts: list[str]) -> list[str]:
    """The columns that identify a cell: everything but measures and the flag."""
    measures = {
        name
        for name, kind in frame.schema.items()
        if kind.is_numeric() or kind == pl.Null or name in counts
    }
    return [n for n in frame.columns if n not in measures and n != "is_suppressed"]


@pytest.mark.parametrize("mart", sorted(AGGREGATES))
def test_aggregate_marts_withhold_exactly_the_small_cells(built: Built, mart: str) -> None:
    """Each cell as built shows the unsuppressed figures, unless one of its counts is 1-10;
    then it is flagged and those counts, and the figures built on them, are NULL."""
    counts = AGGREGATES[mart]
    shown, built_cells = built.shown[mart], built.suppressed[mart]
    assert built_cells.height == shown.height > 0
    key = _key(shown, counts)
    pairs = built_cells.join(shown, on=key, suffix="_true", nulls_equal=True)
    assert pairs.height == shown.height
    for row in pairs.iter_rows(named=True):
        small = [c for c in counts if 1 <= row[f"{c}_true"] < THRESHOLD]
        assert row["is_suppressed"] == bool(small), (mart, row)
        for column in counts:
            if 1 <= row[f"{column}_true"] < THRESHOLD:
                assert row[column] is None, (mart, column)
            elif not small:
                assert row[column] == row[f"{column}_true"], (mart, column)


def test_a_400_patient_clinic_has_small_cells_and_their_rates_are_withheld(built: Built) -> None:
    prevalence = built.suppressed["ph_condition_prevalence"]
    withheld = prevalence.filter(pl.col("is_suppressed"))
    visible = prevalence.filter(~pl.col("is_suppressed"))
    assert withheld.height > 0 and visible.height > 0
    assert withheld["prevalence"].null_count() == withheld.height
    assert visible["prevalence"].null_count() == 0
    denials = built.suppressed["rev_denials_by_payer"]
    small = denials.filter(pl.col("denied_claims").is_null())
    assert small.height > 0 and small["denial_rate"].null_count() == small.height


def test_marts_hold_money_as_integers_or_decimals(built: Built) -> None:
    with built.warehouse.connect() as client:
        types = client.query(
            "SELECT table, name, type FROM system.columns"
            " WHERE database = 'analytics' AND name LIKE '%cents%'"
        ).result_rows
    assert types
    assert [t for t in types if "Float" in t[2]] == []


# --- care-gap reminders ------------------------------------------------------------------


def test_care_gap_reminders_match_the_marts_gap_list(built: Built) -> None:
    resources = {
        "warehouse": WarehouseResource(
            data_dir=str(built.warehouse.data_dir), lock_timeout_seconds=300
        ),
        "postgres": PostgresResource(
            owner_database_url=built.database.urls.owner.render_as_string(hide_password=False)
        ),
    }
    gaps = built.suppressed["qm_care_gaps"]
    expected = {(row["measure_id"], row["patient_id"]) for row in gaps.iter_rows(named=True)}

    first = materialize([care_gap_reminders], resources=resources)
    again = materialize([care_gap_reminders], resources=resources)

    reminders = built.source(
        "SELECT data->>'measure_id' AS measure_id, patient_id::text AS patient_id, status "
        "FROM clinical_alerts WHERE tenant_id = :tenant AND source = 'care_gaps'"
    )
    assert first.success and again.success
    assert len(expected) > 20  # a 400-patient clinic has gaps in every measure
    assert {m for m, _ in expected} == {
        "diabetes_hba1c_testing",
        "hypertension_bp_control",
        "statin_therapy",
    }
    assert set(reminders["status"]) == {"open"}
    assert {(r["measure_id"], r["patient_id"]) for r in reminders.iter_rows(named=True)} == {
        (m, str(p)) for m, p in expected
    }  # one per gap, and the second run added none
