"""Posting a remittance advice (an 835): a payer's payment and adjustments for many claims.

All or nothing: every claim of the remittance is checked before anything is written, and
one invalid claim refuses the whole remittance. Each claim's adjustments are CAS-style
group+reason pairs; group PR is the patient's responsibility. A payer's trace number
(`reference`) is posted once: the database refuses a second remittance with it.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from psycopg.errors import UniqueViolation
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor
from transactional.billing.audit_events import audit
from transactional.billing.claim_views import ClaimSummary, claim_money, find_claim
from transactional.billing.claims import settle
from transactional.billing.invoices import find_invoice
from transactional.billing.ledger import (
    adjustment_row,
    ensure_claim_room,
    ensure_room,
    payment_method,
    payment_row,
    posting_date,
    reference_text,
)
from transactional.billing.models import Claim, Invoice, Remittance
from transactional.billing.money import check_cents
from transactional.billing.reason_codes import Reason, reason
from transactional.billing.types import AdjustmentKind, GroupCode, PaymentSource
from transactional.errors import Conflict, InvalidInput
from transactional.patients.models import Payer

MAX_CLAIMS = 500
MAX_ADJUSTMENTS = 20
DUPLICATE = "a remittance with this reference from this payer was already posted"


@dataclass(frozen=True)
class CasAdjustment:
    group_code: str
    reason_code: str
    amount_cents: int


@dataclass(frozen=True)
class RemittedClaim:
    claim_id: uuid.UUID
    paid_cents: int
    adjustments: tuple[CasAdjustment, ...] = ()


@dataclass(frozen=True)
class NewRemittance:
    payer_id: uuid.UUID
    reference: str
    received_on: date
    method: str
    claims: tuple[RemittedClaim, ...]


@dataclass(frozen=True)
class PostedRemittance:
    remittance: Remittance
    claims: list[ClaimSummary]


@dataclass(frozen=True)
class _Checked:
    claim_id: uuid.UUID
    paid: int
    adjustments: list[tuple[Reason, int]]

    @property
    def reduces(self) -> int:
        return sum(a for r, a in self.adjustments if r.group != GroupCode.PR)

    @property
    def responsibility(self) -> int:
        return sum(a for r, a in self.adjustments if r.group == GroupCode.PR)


def _checked(position: int, item: RemittedClaim) -> _Checked:
    where = f"claims[{position}]"
    try:
        paid = check_cents(item.paid_cents, what="paid", allow_zero=True)
        if len(item.adjustments) > MAX_ADJUSTMENTS:
            raise InvalidInput(f"at most {MAX_ADJUSTMENTS} adjustments per claim")
        adjustments = [
            (
                reason(a.group_code, a.reason_code),
                check_cents(a.amount_cents, what="an adjustment"),
            )
            for a in item.adjustments
        ]
    except InvalidInput as error:
        raise InvalidInput(f"{where}: {error}") from None
    if paid == 0 and not adjustments:
        raise InvalidInput(f"{where}: a remitted claim has a payment or an adjustment")
    return _Checked(item.claim_id, paid, adjustments)


def _lock(
    session: Session, tenant_id: uuid.UUID, items: list[_Checked]
) -> tuple[dict[uuid.UUID, Claim], dict[uuid.UUID, Invoice]]:
    """Invoices then claims, each in id order, so concurrent postings cannot deadlock."""
    found = {
        claim.id: claim
        for claim in session.scalars(
            select(Claim).where(
                Claim.tenant_id == tenant_id, Claim.id.in_([i.claim_id for i in items])
            )
        )
    }
    for position, item in enumerate(items):
        if item.claim_id not in found:
            raise InvalidInput(f"claims[{position}]: not a claim of this tenant")
    invoices = {
        invoice_id: find_invoice(session, tenant_id, invoice_id, for_update=True)
        for invoice_id in sorted({c.invoice_id for c in found.values()})
    }
    claims = {
        claim_id: find_claim(session, tenant_id, claim_id, for_update=True)
        for claim_id in sorted(found)
    }
    return claims, invoices


def post_remittance(
    *, session: Session, tenant_id: uuid.UUID, data: NewRemittance, actor: Actor
) -> PostedRemittance:
    reference = reference_text(data.reference)
    if reference is None:
        raise InvalidInput("a remittance needs its payer's reference (EFT trace or check number)")
    method = payment_method(data.method)
    received_on = posting_date(data.received_on)
    if not 1 <= len(data.claims) <= MAX_CLAIMS:
        raise InvalidInput(f"a remittance pays 1 to {MAX_CLAIMS} claims")
    if len({c.claim_id for c in data.claims}) != len(data.claims):
        raise InvalidInput("a remittance names each claim once")
    if (
        session.scalar(
            select(Payer.id).where(Payer.tenant_id == tenant_id, Payer.id == data.payer_id)
        )
        is None
    ):
        raise InvalidInput("payer_id does not name a payer of this tenant")
    items = [_checked(position, item) for position, item in enumerate(data.claims)]
    claims, invoices = _lock(session, tenant_id, items)
    if session.scalar(
        select(Remittance.id).where(
            Remittance.tenant_id == tenant_id,
            Remittance.payer_id == data.payer_id,
            Remittance.reference == reference,
        )
    ):
        raise Conflict(DUPLICATE)
    per_invoice: dict[uuid.UUID, list[_Checked]] = defaultdict(list)
    for position, item in enumerate(items):
        claim = claims[item.claim_id]
        try:
            if claim.payer_id != data.payer_id:
                raise InvalidInput("the claim was sent to another payer")
            ensure_claim_room(session, claim, item.paid + item.reduces + item.responsibility)
        except (InvalidInput, Conflict) as error:
            raise type(error)(f"claims[{position}]: {error}") from None
        per_invoice[claim.invoice_id].append(item)
    for invoice_id, posted in per_invoice.items():
        ensure_room(
            invoices[invoice_id],
            paid=sum(i.paid for i in posted),
            adjusted=sum(i.reduces for i in posted),
            responsibility=sum(i.responsibility for i in posted),
        )

    remittance = Remittance(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        payer_id=data.payer_id,
        reference=reference,
        method=method.value,
        received_on=received_on,
        paid_cents=sum(i.paid for i in items),
        claim_count=len(items),
        posted_by=actor.user_id,
    )
    session.add(remittance)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        if isinstance(error.orig, UniqueViolation):
            raise Conflict(DUPLICATE) from None
        raise
    for item in items:
        claim = claims[item.claim_id]
        invoice = invoices[claim.invoice_id]
        if item.paid:
            session.add(
                payment_row(
                    invoice,
                    source=PaymentSource.PAYER,
                    amount_cents=item.paid,
                    method=method,
                    posted_on=received_on,
                    actor=actor,
                    reference=reference,
                    claim=claim,
                    remittance_id=remittance.id,
                )
            )
        session.add_all(
            adjustment_row(
                invoice,
                kind=(
                    AdjustmentKind.PATIENT_RESPONSIBILITY
                    if carc.group == GroupCode.PR
                    else AdjustmentKind.CONTRACTUAL
                ),
                reason=carc,
                amount_cents=amount,
                posted_on=received_on,
                actor=actor,
                claim=claim,
                remittance_id=remittance.id,
            )
            for carc, amount in item.adjustments
        )
    session.flush()
    for item in items:
        claim = claims[item.claim_id]
        settle(session, claim, actor)
        audit(
            session,
            actor,
            tenant_id=tenant_id,
            action="remittance.post",
            resource_type="claim",
            resource_id=claim.id,
            patient_id=claim.patient_id,
            remittance_id=str(remittance.id),
        )
    for invoice in invoices.values():
        session.refresh(invoice)
    money = claim_money(session, tenant_id, claims)
    return PostedRemittance(
        remittance, [ClaimSummary(claims[i.claim_id], money[i.claim_id]) for i in items]
    )
