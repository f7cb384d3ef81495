"""Posting one payment or one adjustment to an invoice.

A payer's payment pays a claim (it must be accepted); a patient's payment pays the invoice.
Adjustments carry a CARC group and reason: contractual and write-off adjustments reduce
what is owed, patient-responsibility ones (group PR) move it from the payer to the patient.
"""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from transactional.audit.trail import Actor
from transactional.billing.audit_events import audit
from transactional.billing.claim_views import find_claim
from transactional.billing.claims import settle
from transactional.billing.invoices import find_invoice
from transactional.billing.ledger import (
    adjustment_kind,
    adjustment_row,
    ensure_claim_room,
    ensure_room,
    payment_method,
    payment_row,
    posting_date,
    reference_text,
)
from transactional.billing.models import Adjustment, Claim, Invoice, Payment
from transactional.billing.money import check_cents
from transactional.billing.reason_codes import reason
from transactional.billing.types import AdjustmentKind, PaymentSource
from transactional.errors import InvalidInput


@dataclass(frozen=True)
class NewPayment:
    """A payer payment names the claim it pays (`payer_id` defaults to the claim's payer)."""

    invoice_id: uuid.UUID
    source: str
    amount_cents: int
    posted_on: date
    method: str
    reference: str | None = None
    claim_id: uuid.UUID | None = None
    payer_id: uuid.UUID | None = None


@dataclass(frozen=True)
class NewAdjustment:
    invoice_id: uuid.UUID
    kind: str
    group_code: str
    reason_code: str
    amount_cents: int
    posted_on: date
    claim_id: uuid.UUID | None = None


@dataclass(frozen=True)
class PostedPayment:
    payment: Payment
    invoice: Invoice


@dataclass(frozen=True)
class PostedAdjustment:
    adjustment: Adjustment
    invoice: Invoice


def _claim_of(session: Session, invoice: Invoice, claim_id: uuid.UUID, amount: int) -> Claim:
    claim = find_claim(session, invoice.tenant_id, claim_id, for_update=True)
    if claim.invoice_id != invoice.id:
        raise InvalidInput("the claim is not a claim of this invoice")
    ensure_claim_room(session, claim, amount)
    return claim


def post_payment(
    *, session: Session, tenant_id: uuid.UUID, data: NewPayment, actor: Actor
) -> PostedPayment:
    amount = check_cents(data.amount_cents, what="a payment")
    method = payment_method(data.method)
    posted_on = posting_date(data.posted_on)
    try:
        source = PaymentSource(data.source)
    except ValueError:
        raise InvalidInput("source must be payer or patient") from None
    invoice = find_invoice(session, tenant_id, data.invoice_id, for_update=True)
    claim = None
    if source == PaymentSource.PAYER:
        if data.claim_id is None:
            raise InvalidInput("a payer payment names the claim it pays")
        ensure_room(invoice, paid=amount)
        claim = _claim_of(session, invoice, data.claim_id, amount)
        if data.payer_id is not None and data.payer_id != claim.payer_id:
            raise InvalidInput("payer_id is not the payer of the claim")
    else:
        if data.claim_id is not None or data.payer_id is not None:
            raise InvalidInput("a patient payment names no payer and no claim")
        ensure_room(invoice, paid=amount)
    payment = payment_row(
        invoice,
        source=source,
        amount_cents=amount,
        method=method,
        posted_on=posted_on,
        actor=actor,
        reference=reference_text(data.reference),
        claim=claim,
    )
    session.add(payment)
    session.flush()
    if claim is not None:
        settle(session, claim, actor)
    session.refresh(invoice)
    audit(
        session,
        actor,
        tenant_id=tenant_id,
        action="payment.post",
        resource_type="payment",
        resource_id=payment.id,
        patient_id=invoice.patient_id,
        source=source.value,
    )
    return PostedPayment(payment, invoice)


def post_adjustment(
    *, session: Session, tenant_id: uuid.UUID, data: NewAdjustment, actor: Actor
) -> PostedAdjustment:
    amount = check_cents(data.amount_cents, what="an adjustment")
    posted_on = posting_date(data.posted_on)
    carc = reason(data.group_code, data.reason_code)
    kind = adjustment_kind(data.kind, carc)
    moves = kind == AdjustmentKind.PATIENT_RESPONSIBILITY
    invoice = find_invoice(session, tenant_id, data.invoice_id, for_update=True)
    ensure_room(invoice, adjusted=0 if moves else amount, responsibility=amount if moves else 0)
    claim = None
    if data.claim_id is not None:
        claim = _claim_of(session, invoice, data.claim_id, amount)
    adjustment = adjustment_row(
        invoice,
        kind=kind,
        reason=carc,
        amount_cents=amount,
        posted_on=posted_on,
        actor=actor,
        claim=claim,
    )
    session.add(adjustment)
    session.flush()
    if claim is not None:
        settle(session, claim, actor)
    session.refresh(invoice)
    audit(
        session,
        actor,
        tenant_id=tenant_id,
        action="adjustment.post",
        resource_type="adjustment",
        resource_id=adjustment.id,
        patient_id=invoice.patient_id,
        reason=f"{carc}",
        kind=kind.value,
    )
    return PostedAdjustment(adjustment, invoice)
