"""Keyword-only factories for orders, specimens, results and alerts, written through the real
services."""

import uuid
from decimal import Decimal

from tests.factories.scheduling import tenant_session
from transactional.audit.trail import SYSTEM, Actor
from transactional.database import Database
from transactional.identity.models import Tenant, User
from transactional.orders.models import Order
from transactional.orders.ordering import NewOrder, place_order
from transactional.orders.results import RecordedResults, ResultEntry, record_results
from transactional.orders.workflow import collect_specimen
from transactional.patients.models import Patient
from transactional.providers.models import Practitioner
from transactional.providers.practitioners import NewPractitioner, create_practitioner

LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
BMP, CBC, HBA1C, CYP2C19, SARS_COV_2 = "51990-0", "58410-2", "4548-4", "79714-2", "94500-6"
POTASSIUM, SODIUM, GLUCOSE, HEMOGLOBIN = "2823-3", "2951-2", "2345-7", "718-7"


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, role=user.role)


def linked_practitioner(*, database: Database, tenant: Tenant, user: User) -> Practitioner:
    """A practitioner whose inbox is `user`'s."""
    with tenant_session(database=database, tenant=tenant) as session:
        return create_practitioner(
            session=session,
            tenant_id=tenant.id,
            data=NewPractitioner(display_name=f"Dr. {uuid.uuid4().hex[:6]}", user_id=user.id),
            actor=SYSTEM,
        )


def make_order(
    *,
    database: Database,
    tenant: Tenant,
    patient: Patient,
    practitioner: Practitioner,
    code: str = BMP,
    category: str = "laboratory",
    system: str = LOINC,
    priority: str = "routine",
) -> Order:
    with tenant_session(database=database, tenant=tenant) as session:
        return place_order(
            session=session,
            tenant_id=tenant.id,
            data=NewOrder(
                patient_id=patient.id,
                practitioner_id=practitioner.id,
                category=category,
                system=system,
                code=code,
                priority=priority,
            ),
            actor=SYSTEM,
        )


def collect(
    *, database: Database, tenant: Tenant, order: Order, specimen_type: str = "serum"
) -> Order:
    with tenant_session(database=database, tenant=tenant) as session:
        return collect_specimen(
            session=session,
            tenant_id=tenant.id,
            order_id=order.id,
            specimen_type=specimen_type,
            actor=SYSTEM,
        )


def numeric(code: str, value: str, unit: str) -> ResultEntry:
    return ResultEntry(system=LOINC, code=code, value=Decimal(value), unit=unit)


def enter_results(
    *,
    database: Database,
    tenant: Tenant,
    order: Order,
    entries: list[ResultEntry],
    status: str = "final",
) -> RecordedResults:
    with tenant_session(database=database, tenant=tenant) as session:
        return record_results(
            session=session,
            tenant_id=tenant.id,
            order_id=order.id,
            entries=entries,
            status=status,
            actor=SYSTEM,
        )


def resulted_order(
    *,
    database: Database,
    tenant: Tenant,
    patient: Patient,
    practitioner: Practitioner,
    entries: list[ResultEntry],
    code: str = BMP,
) -> RecordedResults:
    """An order of `code` with its specimen collected and `entries` recorded final."""
    order = make_order(
        database=database, tenant=tenant, patient=patient, practitioner=practitioner, code=code
    )
    collect(database=database, tenant=tenant, order=order)
    return enter_results(database=database, tenant=tenant, order=order, entries=entries)
