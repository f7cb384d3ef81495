"""Keyword-only factories for payers, coverage, fee schedules and billable encounters,
written through the real services, and a ready-made clinic that bills."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from tests.factories.identity import make_tenant
from tests.factories.patients import make_patient
from tests.factories.scheduling import (
    VALID_NPI,
    make_department,
    make_location,
    make_practitioner,
    tenant_session,
)
from transactional.audit.trail import SYSTEM
from transactional.billing.fee_schedules import Fee, NewFeeSchedule, create_fee_schedule
from transactional.billing.models import FeeSchedule
from transactional.charting.codes import CPT, ICD10CM
from transactional.charting.conditions import NewCondition, add_diagnosis
from transactional.charting.encounters import NewEncounter, open_encounter, transition
from transactional.charting.models import Encounter
from transactional.charting.procedures import NewProcedure, add_procedure
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.patients.coverage import NewCoverage, add_coverage, create_payer
from transactional.patients.models import Coverage, Patient, Payer
from transactional.providers.models import Department, Location, Practitioner

SECOND_NPI = "1245319599"
# Payer (contracted) and default (self-pay) prices in cents.
PAYER_FEES = {"99213": 12_500, "36415": 1_500, "81002": 800}
DEFAULT_FEES = {"99213": 15_000, "36415": 2_000, "81002": 1_000, "99214": 20_000}
VISIT = NewProcedure(system=CPT, code="99213")
DIABETES = NewCondition(system=ICD10CM, code="E11.9", rank=1)
HYPERTENSION = NewCondition(system=ICD10CM, code="I10", rank=2)


def make_payer(
    *, database: Database, tenant: Tenant, name: str | None = None, payer_type: str = "commercial"
) -> Payer:
    with tenant_session(database=database, tenant=tenant) as session:
        return create_payer(
            session=session,
            tenant_id=tenant.id,
            name=name or f"Payer {uuid.uuid4().hex[:6]}",
            payer_type=payer_type,
            external_id="60054",
            actor=SYSTEM,
        )


def make_coverage(
    *,
    database: Database,
    tenant: Tenant,
    patient: Patient,
    payer: Payer,
    member_id: str = "W123456789",
    period_start: date = date(2020, 1, 1),
    period_end: date | None = None,
    priority: int = 1,
) -> Coverage:
    with tenant_session(database=database, tenant=tenant) as session:
        return add_coverage(
            session=session,
            tenant_id=tenant.id,
            patient_id=patient.id,
            data=NewCoverage(
                payer_id=payer.id,
                member_id=member_id,
                period_start=period_start,
                period_end=period_end,
                priority=priority,
            ),
            actor=SYSTEM,
        )


def make_fee_schedule(
    *,
    database: Database,
    tenant: Tenant,
    fees: Mapping[str, int],
    payer: Payer | None = None,
    effective_from: date = date(2020, 1, 1),
    effective_to: date | None = None,
    system: str = CPT,
) -> FeeSchedule:
    with tenant_session(database=database, tenant=tenant) as session:
        return create_fee_schedule(
            session=session,
            tenant_id=tenant.id,
            data=NewFeeSchedule(
                name=f"Fees {uuid.uuid4().hex[:6]}",
                payer_id=payer.id if payer is not None else None,
                effective_from=effective_from,
                effective_to=effective_to,
                fees=tuple(Fee(system, code, cents) for code, cents in fees.items()),
            ),
            actor=SYSTEM,
        )


def make_encounter(
    *,
    database: Database,
    tenant: Tenant,
    patient: Patient,
    practitioner: Practitioner,
    location: Location | None = None,
    procedures: Sequence[NewProcedure] = (VISIT,),
    diagnoses: Sequence[NewCondition] = (DIABETES,),
    started: datetime | None = None,
    finish: bool = True,
) -> Encounter:
    """An ambulatory encounter with its diagnoses and procedures, finished unless told."""
    start = started or datetime.now(UTC) - timedelta(hours=1)
    with tenant_session(database=database, tenant=tenant) as session:
        encounter = open_encounter(
            session=session,
            tenant_id=tenant.id,
            data=NewEncounter(
                patient_id=patient.id,
                practitioner_id=practitioner.id,
                location_id=location.id if location is not None else None,
                start_at=start,
            ),
            actor=SYSTEM,
        )
        for condition in diagnoses:
            add_diagnosis(
                session=session,
                tenant_id=tenant.id,
                encounter_id=encounter.id,
                data=condition,
                actor=SYSTEM,
            )
        for procedure in procedures:
            performed = procedure.performed_at or start + timedelta(minutes=10)
            add_procedure(
                session=session,
                tenant_id=tenant.id,
                encounter_id=encounter.id,
                data=NewProcedure(
                    system=procedure.system,
                    code=procedure.code,
                    performed_at=performed,
                    performer_id=procedure.performer_id,
                    units=procedure.units,
                    modifiers=procedure.modifiers,
                ),
                actor=SYSTEM,
            )
        if finish:
            encounter = transition(
                session=session,
                tenant_id=tenant.id,
                encounter_id=encounter.id,
                action="finish",
                actor=SYSTEM,
            )
        return encounter


@dataclass(frozen=True)
class BillingClinic:
    """A tenant with a practitioner (NPI, department), a location, a patient insured by the
    payer (unless made uninsured), the payer's fee schedule and the default one."""

    database: Database
    tenant: Tenant
    department: Department
    location: Location
    practitioner: Practitioner
    patient: Patient
    payer: Payer
    coverage: Coverage | None

    def encounter(self, **overrides: object) -> Encounter:
        values: dict[str, object] = {
            "patient": self.patient,
            "practitioner": self.practitioner,
            "location": self.location,
        } | overrides
        return make_encounter(database=self.database, tenant=self.tenant, **values)  # type: ignore[arg-type]

    def count(self, table: str) -> int:
        with tenant_session(database=self.database, tenant=self.tenant) as session:
            return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())

    def counts(self, *tables: str) -> dict[str, int]:
        return {table: self.count(table) for table in tables}


LEDGER_TABLES = (
    "invoices",
    "charges",
    "claims",
    "claim_lines",
    "claim_events",
    "remittances",
    "payments",
    "adjustments",
)


def make_billing_clinic(*, database: Database, insured: bool = True) -> BillingClinic:
    tenant = make_tenant(database=database)
    department = make_department(database=database, tenant=tenant)
    location = make_location(database=database, tenant=tenant)
    practitioner = make_practitioner(
        database=database, tenant=tenant, npi=VALID_NPI, department=department
    )
    patient = make_patient(database=database, tenant=tenant)
    payer = make_payer(database=database, tenant=tenant)
    coverage = (
        make_coverage(database=database, tenant=tenant, patient=patient, payer=payer)
        if insured
        else None
    )
    make_fee_schedule(database=database, tenant=tenant, fees=PAYER_FEES, payer=payer)
    make_fee_schedule(database=database, tenant=tenant, fees=DEFAULT_FEES)
    return BillingClinic(
        database, tenant, department, location, practitioner, patient, payer, coverage
    )
