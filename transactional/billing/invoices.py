"""Invoices: the account of one encounter, its ledger, and voiding it.

An invoice's status is derived by the database (open, paid, void), and its totals are kept
by triggers on the ledger. Voiding needs a reason and is refused once money was posted or a
claim is with a payer; it voids the invoice's charges with it.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor
from transactional.base import utcnow
from transactional.billing.audit_events import audit
from transactional.billing.models import Adjustment, Charge, Claim, Invoice, Payment
from transactional.billing.types import ChargeStatus, ClaimStatus, InvoiceStatus
from transactional.errors import Conflict, InvalidInput, NotFound

MAX_REASON = 500
_CLAIM_WITH_PAYER = (
    ClaimStatus.SUBMITTED,
    ClaimStatus.ACCEPTED,
    ClaimStatus.PARTIALLY_PAID,
    ClaimStatus.PAID,
)


@dataclass(frozen=True)
class InvoiceView:
    invoice: Invoice
    charges: list[Charge]
    payments: list[Payment]
    adjustments: list[Adjustment]


def reason_text(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a reason is required")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"a reason has at most {MAX_REASON} characters")
    return reason


def find_invoice(
    session: Session, tenant_id: uuid.UUID, invoice_id: uuid.UUID, *, for_update: bool = False
) -> Invoice:
    """`for_update` locks the row and reloads it: totals may have changed since it was read."""
    query = select(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.id == invoice_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    invoice = session.scalar(query)
    if invoice is None:
        raise NotFound("invoice not found")
    return invoice


def charges_of(
    session: Session, tenant_id: uuid.UUID, invoice_ids: Iterable[uuid.UUID]
) -> list[Charge]:
    return list(
        session.scalars(
            select(Charge)
            .where(Charge.tenant_id == tenant_id, Charge.invoice_id.in_(list(invoice_ids)))
            .order_by(Charge.service_date, Charge.posted_at, Charge.id)
        )
    )


def payments_of(
    session: Session, tenant_id: uuid.UUID, invoice_ids: Iterable[uuid.UUID]
) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.tenant_id == tenant_id, Payment.invoice_id.in_(list(invoice_ids)))
            .order_by(Payment.posted_on, Payment.posted_at, Payment.id)
        )
    )


def adjustments_of(
    session: Session, tenant_id: uuid.UUID, invoice_ids: Iterable[uuid.UUID]
) -> list[Adjustment]:
    return list(
        session.scalars(
            select(Adjustment)
            .where(Adjustment.tenant_id == tenant_id, Adjustment.invoice_id.in_(list(invoice_ids)))
            .order_by(Adjustment.posted_on, Adjustment.posted_at, Adjustment.id)
        )
    )


def views_of(session: Session, tenant_id: uuid.UUID, invoices: list[Invoice]) -> list[InvoiceView]:
    """Each invoice with its ledger, in three queries whatever the number of invoices."""
    ids = [invoice.id for invoice in invoices]
    charges = charges_of(session, tenant_id, ids)
    payments = payments_of(session, tenant_id, ids)
    adjustments = adjustments_of(session, tenant_id, ids)
    return [
        InvoiceView(
            invoice=invoice,
            charges=[c for c in charges if c.invoice_id == invoice.id],
            payments=[p for p in payments if p.invoice_id == invoice.id],
            adjustments=[a for a in adjustments if a.invoice_id == invoice.id],
        )
        for invoice in invoices
    ]


def read_invoice(
    *, session: Session, tenant_id: uuid.UUID, invoice_id: uuid.UUID, actor: Actor
) -> InvoiceView:
    invoice = find_invoice(session, tenant_id, invoice_id)
    audit(
        session,
        actor,
        tenant_id=tenant_id,
        action="invoice.read",
        resource_type="invoice",
        resource_id=invoice.id,
        patient_id=invoice.patient_id,
    )
    return views_of(session, tenant_id, [invoice])[0]


def has_money(invoice: Invoice) -> bool:
    return bool(
        invoice.payments_cents or invoice.adjustments_cents or invoice.patient_responsibility_cents
    )


def void_invoice(
    *, session: Session, tenant_id: uuid.UUID, invoice_id: uuid.UUID, reason: str, actor: Actor
) -> InvoiceView:
    reason = reason_text(reason)
    invoice = find_invoice(session, tenant_id, invoice_id, for_update=True)
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict("the invoice is already void")
    if has_money(invoice):
        raise Conflict("money was posted to this invoice; it can no longer be voided")
    with_payer = session.scalar(
        select(Claim.id).where(
            Claim.tenant_id == tenant_id,
            Claim.invoice_id == invoice.id,
            Claim.status.in_([s.value for s in _CLAIM_WITH_PAYER]),
        )
    )
    if with_payer is not None:
        raise Conflict("a claim of this invoice is with the payer; it can no longer be voided")
    now = utcnow()
    for charge in charges_of(session, tenant_id, [invoice.id]):
        if charge.status == ChargeStatus.ACTIVE:
            charge.status = ChargeStatus.VOID.value
            charge.void_reason, charge.voided_at, charge.voided_by = reason, now, actor.user_id
    invoice.void_reason, invoice.voided_at, invoice.voided_by = reason, now, actor.user_id
    session.flush()
    session.refresh(invoice)
    audit(
        session,
        actor,
        tenant_id=tenant_id,
        action="invoice.void",
        resource_type="invoice",
        resource_id=invoice.id,
        patient_id=invoice.patient_id,
    )
    return views_of(session, tenant_id, [invoice])[0]
