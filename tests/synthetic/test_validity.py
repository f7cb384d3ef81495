"""Every generated row passes the rules the API enforces on the same input.

Rules are called where they live (terminology, vitals ranges, the lab catalog and its flags,
the prescribing check, NPI and MRN check digits, patient registration), never restated here.
"""

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from tests.factories.identity import make_tenant
from transactional.audit.trail import SYSTEM
from transactional.charting.vitals import BMI_SIGN, VITAL_SIGNS
from transactional.database import Database
from transactional.medications.checks import ActiveMedication, AllergyFact, check
from transactional.medications.prescriptions import resolve_medication
from transactional.medications.types import Severity
from transactional.orders.catalog import catalog
from transactional.orders.flags import numeric_flag
from transactional.patients.mrn import normalize_mrn
from transactional.patients.registry import Demographics, register_patient
from transactional.providers.identifiers import check_npi
from transactional.synthetic.clinic import DAY_END, DAY_START, TIME_ZONE
from transactional.synthetic.seed import Population, generate
from transactional.tenancy import bind_tenant
from transactional.terminology.catalog import validate
from transactional.terminology.systems import CodeSystem

AS_OF = date(2026, 11, 22)


@cache
def population() -> Population:
    return generate(
        seed=99,
        slug="valid",
        tenant_id=uuid.UUID("00000000-0000-4000-8000-0000000000aa"),
        patients=1500,
        as_of=AS_OF,
        mrn_numbers=list(range(1, 1501)),
    )


def tables() -> dict[str, pl.DataFrame]:
    return population().tables


@pytest.mark.parametrize(
    ("table", "system_column", "code_column"),
    [
        ("conditions", "code_system", "code"),
        ("procedures", "code_system", "code"),
        ("encounters", "type_system", "type_code"),
        ("orders", "code_system", "code"),
        ("lab_results", "code_system", "code"),
        ("allergies", "substance_system", "substance_code"),
        ("prescriptions", "medication_system", "medication_code"),
        ("prescriptions", "indication_system", "indication_code"),
        ("fee_schedule_items", "code_system", "code"),
    ],
)
def test_every_code_is_a_shipped_code_of_its_system(
    table: str, system_column: str, code_column: str
) -> None:
    pairs = tables()[table].select(system_column, code_column).unique().drop_nulls().rows()
    assert pairs
    for system, code in pairs:
        validate(system, code)


def test_encounter_diagnoses_are_billable_icd10_codes() -> None:
    diagnoses = tables()["conditions"].filter(pl.col("category") == "encounter_diagnosis")
    for code in diagnoses["code"].unique():
        assert validate(str(CodeSystem.ICD10CM), code).billable, code
    ranks = diagnoses.group_by("encounter_id").agg(
        pl.col("rank").sort(), pl.col("code").n_unique().alias("codes"), pl.len()
    )
    assert (ranks["codes"] == ranks["len"]).all()  # no code twice in one encounter
    assert all(r == list(range(1, len(r) + 1)) for r in ranks["rank"].to_list())


def test_vitals_are_plausible_in_canonical_units_and_inside_their_visit() -> None:
    vitals = tables()["observations"]
    signs = VITAL_SIGNS | {"39156-5": BMI_SIGN}
    for code, sign in signs.items():
        rows = vitals.filter(pl.col("code") == code)
        if rows.height == 0:
            continue
        assert set(rows["unit"]) == {sign.unit}, code
        values = rows["value"].cast(pl.Float64)
        assert values.min() >= float(sign.low) and values.max() <= float(sign.high), code  # type: ignore[operator]
    pressure = vitals.filter(pl.col("code").is_in(["8480-6", "8462-4"])).pivot(
        on="code", index="encounter_id", values="value"
    )
    assert (pressure["8462-4"] < pressure["8480-6"]).all()
    inside = vitals.join(
        tables()["encounters"].select(encounter_id="id", start_at="start_at", end_at="end_at"),
        on="encounter_id",
    )
    assert (inside["effective_at"] >= inside["start_at"]).all()
    assert (inside["effective_at"] <= inside["end_at"]).all()
    as_of = datetime.combine(AS_OF, time(0, 0)).replace(tzinfo=ZoneInfo("UTC"))
    assert (tables()["encounters"]["start_at"] < as_of).all()


def test_lab_results_fit_their_test_and_carry_the_catalog_flag() -> None:
    results = tables()["lab_results"].join(
        tables()["orders"].select(order_id="id", ordered="code"), on="order_id"
    )
    tests = catalog().tests
    for row in results.sample(n=min(4000, results.height), seed=1).iter_rows(named=True):
        ordered, test = tests[row["ordered"]], tests[row["code"]]
        assert ordered.accepts(row["code"]), row["code"]
        if row["value"] is None:
            assert row["value_code"] in test.answers
            continue
        assert row["unit"] == test.unit
        flag = numeric_flag(
            Decimal(str(row["value"])),
            low=test.low,
            high=test.high,
            critical_low=test.critical_low,
            critical_high=test.critical_high,
        )
        assert row["abnormal_flag"] == flag, row


def test_critical_results_alerted_their_ordering_clinician() -> None:
    critical = tables()["lab_results"].filter(pl.col("abnormal_flag").is_in(["LL", "HH"]))
    alerts = tables()["clinical_alerts"]
    assert critical.height == alerts.height > 0
    assert set(alerts["subject_id"]) == set(critical["id"])
    closed = alerts.filter(pl.col("status") != "open")
    assert closed["acted_by"].null_count() == 0


def test_no_patient_is_on_a_combination_the_prescribing_check_would_block() -> None:
    prescriptions = tables()["prescriptions"]
    allergies = tables()["allergies"]
    by_patient = allergies.group_by("patient_id").agg("substance_system", "substance_code")
    allergic = {
        row["patient_id"]: [
            AllergyFact(system=s, code=c)
            for s, c in zip(row["substance_system"], row["substance_code"], strict=True)
        ]
        for row in by_patient.iter_rows(named=True)
    }
    for (patient,), rows in prescriptions.partition_by("patient_id", as_dict=True).items():
        codes = sorted(set(rows["medication_code"]))
        for index, code in enumerate(codes):
            others = [
                ActiveMedication(
                    code=o,
                    display=o,
                    ingredients=resolve_medication(str(CodeSystem.RXNORM), o).ingredients,
                )
                for o in codes[:index] + codes[index + 1 :]
            ]
            findings = check(
                candidate=resolve_medication(str(CodeSystem.RXNORM), code),
                active=others,
                allergies=allergic.get(patient, []),
            )
            blocked = [f.rule_id for f in findings if f.severity is Severity.CRITICAL]
            assert blocked == [], (code, blocked)


def test_clinicians_identifiers_and_mrns_carry_valid_check_digits() -> None:
    for npi in tables()["practitioners"]["npi"]:
        check_npi(npi)
    assert all(normalize_mrn(m) == m for m in tables()["patients"]["mrn"])


def test_bookings_fit_working_hours_and_never_overlap() -> None:
    booked = tables()["appointments"].filter(~pl.col("status").is_in(["cancelled", "no_show"]))
    local = booked.with_columns(
        start=pl.col("starts_at").dt.convert_time_zone(TIME_ZONE),
        end=pl.col("ends_at").dt.convert_time_zone(TIME_ZONE),
    )
    assert (local["start"].dt.weekday() <= 5).all()
    assert (local["start"].dt.time() >= DAY_START).all()
    assert (local["end"].dt.time() <= DAY_END).all()
    overlaps = (
        booked.sort("practitioner_id", "starts_at")
        .with_columns(next_start=pl.col("starts_at").shift(-1).over("practitioner_id"))
        .filter(pl.col("next_start") < pl.col("ends_at"))
    )
    assert overlaps.height == 0


def test_charges_are_the_fee_schedule_price_times_units() -> None:
    charges = tables()["charges"].join(
        tables()["fee_schedule_items"].select(
            "fee_schedule_id", "code_system", "code", price="amount_cents"
        ),
        on=["fee_schedule_id", "code_system", "code"],
    )
    assert charges.height == tables()["charges"].height
    assert (charges["unit_price_cents"] == charges["price"]).all()
    assert (charges["amount_cents"] == charges["unit_price_cents"] * charges["units"]).all()
    for table in ("payments", "adjustments"):
        assert (tables()[table]["amount_cents"] > 0).all()
        assert tables()[table]["amount_cents"].dtype.is_integer()


def test_patients_pass_registration(database: Database) -> None:
    """A sample registered through the service itself, in a transaction rolled back."""
    tenant = make_tenant(database=database)
    sample = tables()["patients"].sample(n=150, seed=3)
    fields = [f for f in Demographics.__dataclass_fields__ if f in sample.columns]
    with database.sessions() as session, session.begin():
        bind_tenant(session, tenant.id)
        for row in sample.iter_rows(named=True):
            register_patient(
                session=session,
                tenant_id=tenant.id,
                data=Demographics(**{f: row[f] for f in fields}),
                actor=SYSTEM,
            )
        session.rollback()
    born = sample["birth_date"]
    assert born.max() < AS_OF and born.min() > AS_OF - timedelta(days=101 * 366)  # type: ignore[operator]
