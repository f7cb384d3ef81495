"""Importing the Synthea sample: what each file becomes, with its codes, dates and money."""

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from tests.factories.identity import make_tenant
from tests.factories.synthea import (
    import_sample,
    sample_rows,
    synthea_ids,
    tenant_counts,
)
from transactional.billing.models import (
    Adjustment,
    Charge,
    Claim,
    ClaimDiagnosis,
    ClaimEvent,
    ClaimLine,
    Invoice,
    Payment,
)
from transactional.charting.models import Condition, Encounter, Immunization, Observation
from transactional.database import Database
from transactional.medications.knowledge import knowledge_base
from transactional.medications.models import Prescription
from transactional.orders.models import LabResult, Order
from transactional.patients.models import Allergy, Coverage, Patient, PatientIdentifier
from transactional.synthea.mappings import SYNTHEA_ID_SYSTEM
from transactional.tenancy import bind_tenant

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"


def _cents(text: str) -> int:
    return int(Decimal(text or "0") * 100)


def _refused_by_the_rules() -> set[str]:
    """Sample rows the app's rules refuse: drugs outside the medication knowledge base, and
    a number for a test the laboratory catalog defines as qualitative."""
    drugs = {
        f"medications.csv:{line}"
        for line, row in sample_rows("medications.csv")
        if knowledge_base().medication(row["CODE"]) is None
    }
    qualitative = {
        f"observations.csv:{line}"
        for line, row in sample_rows("observations.csv")
        if row["CODE"] == "57905-2" and row["TYPE"] == "numeric"
    }
    return drugs | qualitative


def test_sample_yields_its_patients_encounters_conditions_and_claims(
    database: Database, owner_engine: Engine
) -> None:
    tenant = make_tenant(database=database)

    report = import_sample(database=database, tenant=tenant)

    assert report.seconds < 30
    for file in ("patients.csv", "encounters.csv", "conditions.csv", "claims.csv"):
        rows = len(sample_rows(file))
        summary = report.files[file]
        assert (summary.read, summary.imported, summary.present, summary.failed) == (
            rows,
            rows,
            0,
            0,
        ), file
    claims = [row for _, row in sample_rows("claims.csv")]
    transactions = [row for _, row in sample_rows("claims_transactions.csv")]
    no_insurance = {
        row["Id"] for _, row in sample_rows("payers.csv") if row["NAME"] == "NO_INSURANCE"
    }
    insured = [c for c in claims if c["PRIMARYPATIENTINSURANCEID"] not in ("0", *no_insurance)]
    to_secondary = {
        t["CLAIMID"] for t in transactions if t["TRANSFERTYPE"] == "2" and t["TYPE"] == "TRANSFERIN"
    }
    counts = tenant_counts(database, owner_engine, tenant.id)
    assert counts["patients"] == len(sample_rows("patients.csv"))
    assert counts["encounters"] == len(sample_rows("encounters.csv"))
    assert counts["conditions"] == len(sample_rows("conditions.csv"))
    assert counts["claims"] == len(insured) + len(to_secondary)
    assert counts["invoices"] == len({c["APPOINTMENTID"] for c in claims})
    assert counts["charges"] == sum(1 for t in transactions if t["TYPE"] == "CHARGE")
    assert counts["immunizations"] == len(sample_rows("immunizations.csv"))
    assert len(synthea_ids(database, tenant.id, "claims.csv")) == len(claims)
    assert {f"{f.file}:{f.line}" for f in report.failures} == _refused_by_the_rules()
    assert report.files["claims_transactions.csv"].failed == 0
    assert report.files["careplans.csv"].skipped == len(sample_rows("careplans.csv"))


def test_imported_records_keep_their_codes_systems_and_dates(database: Database) -> None:
    tenant = make_tenant(database=database)
    import_sample(database=database, tenant=tenant)
    (_, person), (_, condition) = sample_rows("patients.csv")[0], sample_rows("conditions.csv")[0]
    encounters = synthea_ids(database, tenant.id, "encounters.csv")

    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        patient = session.scalars(
            select(Patient)
            .join(PatientIdentifier, PatientIdentifier.patient_id == Patient.id)
            .where(PatientIdentifier.system == SYNTHEA_ID_SYSTEM)
            .where(PatientIdentifier.value == person["Id"])
        ).one()
        assert (patient.birth_date, patient.sex, patient.postal_code, patient.country) == (
            date.fromisoformat(person["BIRTHDATE"]),
            "male",
            person["ZIP"],
            "US",
        )
        assert patient.ssn_encrypted is None  # Synthea's 999- numbers are never issued
        deceased = session.scalars(
            select(Patient.deceased_date).where(Patient.deceased_date.is_not(None))
        )
        assert len(list(deceased)) == sum(
            1 for _, r in sample_rows("patients.csv") if r["DEATHDATE"]
        )

        found = session.scalars(
            select(Condition).where(
                Condition.patient_id == patient.id, Condition.code == condition["CODE"]
            )
        ).one()
        assert (found.code_system, found.onset_date, found.abatement_date) == (
            SNOMED,
            date(2023, 1, 27),
            date(2023, 2, 9),
        )
        assert found.clinical_status == "resolved"
        assert found.encounter_id == encounters[condition["ENCOUNTER"]]

        encounter = session.get_one(Encounter, encounters["0622440b-ab3a-87bf-b0d7-f8145ac11cc5"])
        assert (encounter.encounter_class, encounter.type_system, encounter.type_code) == (
            "ambulatory",  # Synthea's "wellness"
            SNOMED,
            "410620009",
        )
        assert encounter.status == "finished" and encounter.end_at is not None

        height = session.scalars(
            select(Observation).where(
                Observation.encounter_id == encounter.id, Observation.code == "8302-2"
            )
        ).one()
        assert (height.code_system, height.category, height.value, height.unit) == (
            LOINC,
            "vital-signs",
            Decimal("127.9"),
            "cm",
        )
        bmi = session.scalars(select(Observation).where(Observation.code == "39156-5")).first()
        assert bmi is not None and bmi.is_derived

        glucose = session.scalars(select(LabResult).where(LabResult.code == "2339-0")).first()
        assert glucose is not None and (glucose.code_system, glucose.unit) == (LOINC, "mg/dL")
        order = session.get_one(Order, glucose.order_id)
        assert (order.status, order.result_status, order.data_source) == (
            "resulted",
            "final",
            "synthea",
        )

        loratadine = session.scalars(
            select(Prescription).where(Prescription.medication_code == "665078")
        ).first()
        assert loratadine is not None
        assert (loratadine.medication_system, loratadine.status, loratadine.dose_value) == (
            RXNORM,
            "active",
            None,
        )
        assert loratadine.data_source == "synthea" and loratadine.ingredient_codes
        stopped = session.scalars(
            select(Prescription).where(Prescription.status == "stopped")
        ).first()
        assert stopped is not None and stopped.stopped_at is not None

        flu = session.scalars(select(Immunization).where(Immunization.vaccine_code == "140")).all()
        assert len(flu) == 24 and {v.vaccine_system for v in flu} == {CVX}

        latex = session.scalars(select(Allergy).where(Allergy.substance_code == "111088007")).one()
        assert (latex.substance_system, latex.category, latex.severity) == (
            SNOMED,
            "environment",
            "moderate",
        )
        assert latex.reaction is not None and "418290006" in latex.reaction
        assert session.scalars(select(Coverage).where(Coverage.priority == 2)).first() is not None


def test_a_claim_keeps_its_lines_and_every_balance_reconciles(
    database: Database, owner_engine: Engine
) -> None:
    tenant = make_tenant(database=database)
    import_sample(database=database, tenant=tenant)
    encounters = synthea_ids(database, tenant.id, "encounters.csv")
    conditions = synthea_ids(database, tenant.id, "conditions.csv")

    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        claim = session.scalars(
            select(Claim).where(Claim.tracking_id == "9120543f-28b9-96ae-09eb-d54f6d918234")
        ).one()
        assert (claim.status, claim.data_source, claim.billing_npi) == ("paid", "synthea", None)
        assert claim.total_charge_cents == 7749
        [line] = session.scalars(select(ClaimLine).where(ClaimLine.claim_id == claim.id)).all()
        assert (line.code_system, line.code, line.amount_cents, line.diagnosis_pointers) == (
            SNOMED,
            "185345009",
            7749,
            [1],
        )
        [diagnosis] = session.scalars(
            select(ClaimDiagnosis).where(ClaimDiagnosis.claim_id == claim.id)
        ).all()
        condition_key = "|".join(
            [
                "3edac2e3-d223-6fae-d515-daf96ef6bc76",
                "57f2562b-445c-f11c-ba40-edc55af3c84f",
                "195662009",
                "2023-01-27",
            ]
        )
        assert (diagnosis.code, diagnosis.condition_id) == ("195662009", conditions[condition_key])
        charge = session.get_one(Charge, line.charge_id)
        assert (charge.fee_schedule_id, charge.data_source, charge.unit_price_cents) == (
            None,
            "synthea",
            7749,
        )
        assert charge.diagnosis1_id == conditions[condition_key]
        invoice = session.get_one(Invoice, charge.invoice_id)
        assert invoice.encounter_id == encounters["57f2562b-445c-f11c-ba40-edc55af3c84f"]
        # Anthem paid nothing and passed the charge to the patient (PR-96), who paid it.
        adjustments = session.scalars(
            select(Adjustment).where(Adjustment.claim_id == claim.id)
        ).all()
        assert [(a.group_code, a.reason_code, a.amount_cents) for a in adjustments] == [
            ("PR", "96", 7749)
        ]
        [payment] = session.scalars(select(Payment).where(Payment.invoice_id == invoice.id)).all()
        assert (payment.source, payment.method, payment.amount_cents) == ("patient", "cash", 7749)
        assert (invoice.charges_cents, invoice.balance_cents, invoice.status) == (
            7749,
            0,
            "paid_in_full",
        )
        event = session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim.id)).one()
        assert (event.action, event.to_status) == ("import", "paid")

        balances = {
            row.encounter_id: (row.charges_cents, row.balance_cents)
            for row in session.execute(
                select(Invoice.encounter_id, Invoice.charges_cents, Invoice.balance_cents)
            )
        }
        secondary = session.scalars(
            select(Payment)
            .join(Claim, Claim.id == Payment.claim_id)
            .where(Claim.coverage_id.in_(select(Coverage.id).where(Coverage.priority == 2)))
        ).all()
        assert secondary and {p.source for p in secondary} == {"payer"}
    charged: dict[str, int] = defaultdict(int)
    claim_encounter = {row["Id"]: row["APPOINTMENTID"] for _, row in sample_rows("claims.csv")}
    for _, row in sample_rows("claims_transactions.csv"):
        if row["TYPE"] == "CHARGE":
            charged[claim_encounter[row["CLAIMID"]]] += _cents(row["AMOUNT"])
    outstanding: Counter[str] = Counter()
    for _, row in sample_rows("claims.csv"):
        outstanding[row["APPOINTMENTID"]] += sum(
            _cents(row[column]) for column in ("OUTSTANDING1", "OUTSTANDING2", "OUTSTANDINGP")
        )
    assert {key: balances[encounters[key]] for key in charged} == {
        key: (charged[key], outstanding[key]) for key in charged
    }


def test_the_database_keeps_imported_charges_apart_from_priced_ones(database: Database) -> None:
    tenant = make_tenant(database=database)
    import_sample(database=database, tenant=tenant)
    columns = ", ".join(
        c.name
        for c in Charge.__table__.columns
        if c.name not in ("id", "data_source", "procedure_id")
    )

    copy = text(
        f"INSERT INTO charges (id, procedure_id, {columns}) "
        f"SELECT gen_random_uuid(), NULL, {columns} FROM charges LIMIT 1"
    )

    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        with pytest.raises(DBAPIError, match="ck_charges_captured_is_priced_and_pointed"):
            session.execute(copy)
