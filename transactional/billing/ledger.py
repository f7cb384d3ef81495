"""Rules every money posting shares, whether typed in at the desk or read from a remittance.

The database keeps the invoice's totals and refuses a negative balance on its own; these
checks run first, under the invoice's row lock, so the caller gets a clear refusal instead.
"""

import uuid
from datetime import date, timedelta

from sqlalchemy.orm import Session

from transactional.audit.trail import Actor
from transactional.base import utcnow
from transactional.billing.claim_views import ClaimSummary, claim_money
from transactional.billing.claims import PAYABLE
from transactional.billing.models import Adjustment, Claim, Invoice, Payment
from transactional.billing.money import format_cents
from transactional.billing.reason_codes import Reason
from transactional.billing.types import (
    AdjustmentKind,
    ClaimStatus,
    GroupCode,
    InvoiceStatus,
    PaymentMethod,
    PaymentSource,
)
from transactional.errors import Conflict, InvalidInput

EARLIEST_POSTING = date(2000, 1, 1)
_CLOCK_SKEW = timedelta(days=1)  # a posting date is the poster's local date


def posting_date(posted_on: date) -> date:
    if not EARLIEST_POSTING <= posted_on <= utcnow().date() + _CLOCK_SKEW:
        raise InvalidInput("the posting date must not be in the future")
    return posted_on


def payment_method(method: str) -> PaymentMethod:
    try:
        return PaymentMethod(method)
    except ValueError:
        names = ", ".join(m.value for m in PaymentMethod)
        raise InvalidInput(f"method must be one of: {names}") from None


def adjustment_kind(kind: str, reason: Reason) -> AdjustmentKind:
    """Patient responsibility is exactly what group PR says; other groups reduce the balance."""
    try:
        found = AdjustmentKind(kind)
    except ValueError:
        names = ", ".join(k.value for k in AdjustmentKind)
        raise InvalidInput(f"kind must be one of: {names}") from None
    if (found == AdjustmentKind.PATIENT_RESPONSIBILITY) != (reason.group == GroupCode.PR):
        raise InvalidInput("patient responsibility uses group code PR, and only it does")
    return found


def ensure_room(
    invoice: Invoice, *, paid: int = 0, adjusted: int = 0, responsibility: int = 0
) -> None:
    """Refuse postings to a void invoice, below a zero balance, or assigning the patient more
    than is owed. `invoice` must be row-locked and fresh."""
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict("the invoice is void; no money can be posted to it")
    if paid + adjusted > invoice.balance_cents:
        raise Conflict(
            f"this posting of {format_cents(paid + adjusted)} exceeds the invoice balance "
            f"of {format_cents(invoice.balance_cents)}"
        )
    owed = invoice.charges_cents - invoice.adjustments_cents - adjusted
    if invoice.patient_responsibility_cents + responsibility > owed:
        raise Conflict("patient responsibility would exceed what is owed on the invoice")


def ensure_claim_room(session: Session, claim: Claim, amount: int) -> None:
    """Money posted against a claim stays within what it charged. `claim` must be locked."""
    if ClaimStatus(claim.status) not in PAYABLE:
        raise Conflict(f"money is posted to accepted claims; this one is {claim.status}")
    summary = ClaimSummary(claim, claim_money(session, claim.tenant_id, [claim.id])[claim.id])
    if amount > summary.remaining_cents:
        raise Conflict(
            f"this posting of {format_cents(amount)} exceeds what remains on the claim "
            f"({format_cents(summary.remaining_cents)})"
        )


def payment_row(
    invoice: Invoice,
    *,
    source: PaymentSource,
    amount_cents: int,
    method: PaymentMethod,
    posted_on: date,
    actor: Actor,
    reference: str | None = None,
    claim: Claim | None = None,
    remittance_id: uuid.UUID | None = None,
) -> Payment:
    return Payment(
        id=uuid.uuid4(),
        tenant_id=invoice.tenant_id,
        patient_id=invoice.patient_id,
        invoice_id=invoice.id,
        source=source.value,
        payer_id=claim.payer_id if claim is not None else None,
        claim_id=claim.id if claim is not None else None,
        remittance_id=remittance_id,
        amount_cents=amount_cents,
        method=method.value,
        reference=reference,
        posted_on=posted_on,
        posted_by=actor.user_id,
    )


def adjustment_row(
    invoice: Invoice,
    *,
    kind: AdjustmentKind,
    reason: Reason,
    amount_cents: int,
    posted_on: date,
    actor: Actor,
    claim: Claim | None = None,
    remittance_id: uuid.UUID | None = None,
) -> Adjustment:
    return Adjustment(
        id=uuid.uuid4(),
        tenant_id=invoice.tenant_id,
        patient_id=invoice.patient_id,
        invoice_id=invoice.id,
        claim_id=claim.id if claim is not None else None,
        remittance_id=remittance_id,
        kind=kind.value,
        group_code=reason.group.value,
        reason_code=reason.code,
        amount_cents=amount_cents,
        posted_on=posted_on,
        posted_by=actor.user_id,
    )


def reference_text(reference: str | None) -> str | None:
    if reference is None:
        return None
    reference = reference.strip()
    if len(reference) > 50:
        raise InvalidInput("a reference has at most 50 characters")
    return reference or None
