"""A patient's balance and statement: what is owed, by whom, and for how long.

What the patient owes on an invoice: everything, if it is self-pay (no coverage); otherwise
what payers assigned to the patient (deductible, coinsurance, copay) less what the patient
paid, never more than the balance. The rest of the balance waits on insurance. Aging counts
days from the date of service.
"""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor
from transactional.base import utcnow
from transactional.billing.audit_events import audit
from transactional.billing.invoices import InvoiceView, views_of
from transactional.billing.models import Invoice
from transactional.patients.registry import find_patient

# (label, first day, last day) of each aging bucket; None is open-ended.
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-120", 91, 120),
    ("over-120", 121, None),
)


def patient_due(invoice: Invoice) -> int:
    if invoice.coverage_id is None:
        return invoice.balance_cents
    assigned = invoice.patient_responsibility_cents - invoice.patient_payments_cents
    return min(invoice.balance_cents, max(0, assigned))


@dataclass(frozen=True)
class AgingBucket:
    label: str
    patient_due_cents: int
    insurance_due_cents: int


@dataclass(frozen=True)
class Balance:
    patient_id: uuid.UUID
    as_of: date
    charges_cents: int
    payments_cents: int
    adjustments_cents: int
    balance_cents: int
    patient_due_cents: int
    insurance_due_cents: int
    aging: list[AgingBucket]


@dataclass(frozen=True)
class Statement:
    balance: Balance
    invoices: list[InvoiceView]


def _bucket(days: int) -> str:
    for label, first, last in BUCKETS:
        if days >= first and (last is None or days <= last):
            return label
    return BUCKETS[0][0]  # a service date after `as_of` (clock skew) is current


def _invoices(session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice)
            .where(Invoice.tenant_id == tenant_id, Invoice.patient_id == patient_id)
            .order_by(Invoice.service_date, Invoice.created_at)
        )
    )


def _balance(patient_id: uuid.UUID, invoices: list[Invoice], as_of: date) -> Balance:
    aging = {label: [0, 0] for label, _, _ in BUCKETS}
    for invoice in invoices:
        due = patient_due(invoice)
        bucket = aging[_bucket((as_of - invoice.service_date).days)]
        bucket[0] += due
        bucket[1] += invoice.balance_cents - due
    return Balance(
        patient_id=patient_id,
        as_of=as_of,
        charges_cents=sum(i.charges_cents for i in invoices),
        payments_cents=sum(i.payments_cents for i in invoices),
        adjustments_cents=sum(i.adjustments_cents for i in invoices),
        balance_cents=sum(i.balance_cents for i in invoices),
        patient_due_cents=sum(b[0] for b in aging.values()),
        insurance_due_cents=sum(b[1] for b in aging.values()),
        aging=[AgingBucket(label, *aging[label]) for label, _, _ in BUCKETS],
    )


def patient_balance(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    actor: Actor,
    as_of: date | None = None,
) -> Balance:
    patient = find_patient(session=session, tenant_id=tenant_id, patient_id=patient_id)
    balance = _balance(
        patient.id, _invoices(session, tenant_id, patient.id), as_of or utcnow().date()
    )
    audit(
        session,
        actor,
        tenant_id=tenant_id,
        action="balance.read",
        resource_type="patient",
        resource_id=patient.id,
        patient_id=patient.id,
    )
    return balance


def patient_statement(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    actor: Actor,
    as_of: date | None = None,
) -> Statement:
    patient = find_patient(session=session, tenant_id=tenant_id, patient_id=patient_id)
    invoices = _invoices(session, tenant_id, patient.id)
    statement = Statement(
        balance=_balance(patient.id, invoices, as_of or utcnow().date()),
        invoices=views_of(session, tenant_id, invoices),
    )
    audit(
        session,
        actor,
        tenant_id=tenant_id,
        action="statement.read",
        resource_type="patient",
        resource_id=patient.id,
        patient_id=patient.id,
        invoices=len(invoices),
    )
    return statement
