"""Payments, adjustments and remittances (payment.post); patient balances and statements
(billing.read). Amounts are decimal strings ("125.50"); see `api/schemas/billing.py`."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.deps import Principal, SessionDep, require
from api.schemas.billing import (
    AdjustmentIn,
    AdjustmentOut,
    BalanceOut,
    InvoiceTotalsOut,
    PaymentIn,
    PaymentOut,
    PostedAdjustmentOut,
    PostedPaymentOut,
    RemittanceIn,
    RemittanceOut,
    StatementOut,
)
from transactional.billing import accounts, payments, remittances
from transactional.billing.invoices import InvoiceView
from transactional.billing.models import Invoice
from transactional.identity.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["payments"])

Reader = Annotated[Principal, Depends(require(Permission.BILLING_READ))]
Poster = Annotated[Principal, Depends(require(Permission.PAYMENT_POST))]


def _totals(invoice: Invoice) -> InvoiceTotalsOut:
    return InvoiceTotalsOut.of(InvoiceView(invoice, [], [], []))


@router.post("/payments", response_model=PostedPaymentOut, status_code=status.HTTP_201_CREATED)
def post_payment(body: PaymentIn, principal: Poster, session: SessionDep) -> PostedPaymentOut:
    """A patient's payment, or a payer's payment of an accepted claim (`claim_id`). Refused
    on a void invoice and beyond the balance (409)."""
    posted = payments.post_payment(
        session=session,
        tenant_id=principal.tenant_id,
        data=payments.NewPayment(
            invoice_id=body.invoice_id,
            source=body.source,
            amount_cents=body.amount,
            posted_on=body.posted_on,
            method=body.method,
            reference=body.reference,
            claim_id=body.claim_id,
            payer_id=body.payer_id,
        ),
        actor=principal.actor,
    )
    return PostedPaymentOut(payment=PaymentOut.of(posted.payment), invoice=_totals(posted.invoice))


@router.post(
    "/adjustments", response_model=PostedAdjustmentOut, status_code=status.HTTP_201_CREATED
)
def post_adjustment(
    body: AdjustmentIn, principal: Poster, session: SessionDep
) -> PostedAdjustmentOut:
    """Contractual (e.g. CO-45) and write-off adjustments reduce the balance; patient
    responsibility (PR-1 deductible, PR-2 coinsurance, PR-3 copay) moves it to the patient."""
    posted = payments.post_adjustment(
        session=session,
        tenant_id=principal.tenant_id,
        data=payments.NewAdjustment(
            invoice_id=body.invoice_id,
            kind=body.kind,
            group_code=body.group_code,
            reason_code=body.reason_code,
            amount_cents=body.amount,
            posted_on=body.posted_on,
            claim_id=body.claim_id,
        ),
        actor=principal.actor,
    )
    return PostedAdjustmentOut(
        adjustment=AdjustmentOut.of(posted.adjustment), invoice=_totals(posted.invoice)
    )


@router.post("/remittances", response_model=RemittanceOut, status_code=status.HTTP_201_CREATED)
def post_remittance(body: RemittanceIn, principal: Poster, session: SessionDep) -> RemittanceOut:
    """A payer's remittance advice (835) for one or more accepted claims: paid amount and
    CAS adjustments per claim. All or nothing: one invalid claim refuses the whole
    remittance; a reference already posted for the payer is a 409."""
    posted = remittances.post_remittance(
        session=session,
        tenant_id=principal.tenant_id,
        data=remittances.NewRemittance(
            payer_id=body.payer_id,
            reference=body.reference,
            received_on=body.received_on,
            method=body.method,
            claims=tuple(
                remittances.RemittedClaim(
                    claim_id=c.claim_id,
                    paid_cents=c.paid,
                    adjustments=tuple(
                        remittances.CasAdjustment(a.group_code, a.reason_code, a.amount)
                        for a in c.adjustments
                    ),
                )
                for c in body.claims
            ),
        ),
        actor=principal.actor,
    )
    return RemittanceOut.of(posted.remittance, posted.claims)


@router.get("/patients/{patient_id}/balance", response_model=BalanceOut)
def patient_balance(patient_id: uuid.UUID, principal: Reader, session: SessionDep) -> BalanceOut:
    """What the patient owes now, what waits on payers, and its aging by date of service."""
    balance = accounts.patient_balance(
        session=session, tenant_id=principal.tenant_id, patient_id=patient_id, actor=principal.actor
    )
    return BalanceOut.of(balance)


@router.get("/patients/{patient_id}/statement", response_model=StatementOut)
def patient_statement(
    patient_id: uuid.UUID, principal: Reader, session: SessionDep
) -> StatementOut:
    """Every invoice with its charges, payments and adjustments, the balance due and aging."""
    statement = accounts.patient_statement(
        session=session, tenant_id=principal.tenant_id, patient_id=patient_id, actor=principal.actor
    )
    return StatementOut.of(statement)
