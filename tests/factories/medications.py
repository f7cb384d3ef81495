"""Keyword-only factories for allergies, prescriptions and pharmacy stock, written through
the real services."""

from datetime import timedelta
from decimal import Decimal

from transactional.audit.trail import SYSTEM, Actor
from transactional.base import utcnow
from transactional.database import Database
from transactional.identity.models import Tenant, User
from transactional.medications.prescriptions import NewPrescription, Outcome, prescribe
from transactional.medications.types import RXNORM
from transactional.patients.allergies import NewAllergy, record_allergy
from transactional.patients.models import Allergy, Patient
from transactional.pharmacy.models import StockLot
from transactional.pharmacy.stock import Receipt, receive
from transactional.providers.models import Location
from transactional.tenancy import bind_tenant

SNOMED = "http://snomed.info/sct"


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, role=user.role)


def make_allergy(
    *,
    database: Database,
    tenant: Tenant,
    patient: Patient,
    code: str,
    system: str = RXNORM,
    severity: str = "severe",
) -> Allergy:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return record_allergy(
            session=session,
            tenant_id=tenant.id,
            patient_id=patient.id,
            data=NewAllergy(system=system, code=code, severity=severity),
            actor=SYSTEM,
        )


def make_prescription(
    *,
    database: Database,
    tenant: Tenant,
    patient: Patient,
    prescriber: User,
    code: str,
    dose: object = "10 mg",
    route: object = "oral",
    frequency: object = "daily",
    quantity: object | None = None,
    refills: int = 0,
    duration_days: int | None = None,
    sign: bool = True,
    override_reason: str | None = None,
) -> Outcome:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return prescribe(
            session=session,
            tenant_id=tenant.id,
            patient_id=patient.id,
            data=NewPrescription(
                medication_system=RXNORM,
                medication_code=code,
                dose=dose,
                route=route,
                frequency=frequency,
                quantity=quantity,
                refills=refills,
                duration_days=duration_days,
            ),
            actor=actor_of(prescriber),
            sign=sign,
            override_reason=override_reason,
        )


def receive_lot(
    *,
    database: Database,
    tenant: Tenant,
    location: Location,
    code: str,
    quantity: Decimal | int,
    lot_number: str,
    expires_in_days: int = 365,
    reorder_threshold: Decimal | int | None = None,
) -> StockLot:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return receive(
            session=session,
            tenant_id=tenant.id,
            data=Receipt(
                lot_number=lot_number,
                expiry_date=utcnow().date() + timedelta(days=expires_in_days),
                quantity=Decimal(quantity),
                location_id=location.id,
                medication_system=RXNORM,
                medication_code=code,
                unit="tablet",
                reorder_threshold=Decimal(reorder_threshold)
                if reorder_threshold is not None
                else None,
            ),
            actor=SYSTEM,
        )
