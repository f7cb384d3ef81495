"""Reading claims: with their money (paid, adjusted, passed to the patient), diagnoses,
lines and history. Every read is audited with the patient's id."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, Outcome
from transactional.billing.audit_events import audit
from transactional.billing.models import (
    Adjustment,
    Claim,
    ClaimDiagnosis,
    ClaimEvent,
    ClaimLine,
    Payment,
)
from transactional.billing.types import AdjustmentKind, ClaimStatus
from transactional.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class ClaimMoney:
    paid_cents: int = 0
    adjusted_cents: int = 0
    patient_responsibility_cents: int = 0


@dataclass(frozen=True)
class ClaimSummary:
    claim: Claim
    money: ClaimMoney

    @property
    def remaining_cents(self) -> int:
        """What the payer has not yet settled (paid, adjusted or passed to the patient)."""
        m = self.money
        return self.claim.total_charge_cents - (
            m.paid_cents + m.adjusted_cents + m.patient_responsibility_cents
        )


@dataclass(frozen=True)
class ClaimView(ClaimSummary):
    diagnoses: list[ClaimDiagnosis]
    lines: list[ClaimLine]
    events: list[ClaimEvent]


def find_claim(
    session: Session, tenant_id: uuid.UUID, claim_id: uuid.UUID, *, for_update: bool = False
) -> Claim:
    query = select(Claim).where(Claim.tenant_id == tenant_id, Claim.id == claim_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    claim = session.scalar(query)
    if claim is None:
        raise NotFound("claim not found")
    return claim


def claim_money(
    session: Session, tenant_id: uuid.UUID, claim_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, ClaimMoney]:
    """Paid, adjusted and patient-responsibility sums per claim, from the ledger rows."""
    ids = list(claim_ids)
    paid: dict[uuid.UUID | None, int] = {}
    for claim_id, total in session.execute(
        select(Payment.claim_id, func.sum(Payment.amount_cents))
        .where(Payment.tenant_id == tenant_id, Payment.claim_id.in_(ids))
        .group_by(Payment.claim_id)
    ):
        paid[claim_id] = int(total)
    moved = Adjustment.kind == AdjustmentKind.PATIENT_RESPONSIBILITY.value
    adjusted: dict[tuple[uuid.UUID | None, bool], int] = {}
    for claim_id, is_moved, total in session.execute(
        select(Adjustment.claim_id, moved, func.sum(Adjustment.amount_cents))
        .where(Adjustment.tenant_id == tenant_id, Adjustment.claim_id.in_(ids))
        .group_by(Adjustment.claim_id, moved)
    ):
        adjusted[(claim_id, bool(is_moved))] = int(total)
    return {
        claim_id: ClaimMoney(
            paid_cents=paid.get(claim_id, 0),
            adjusted_cents=adjusted.get((claim_id, False), 0),
            patient_responsibility_cents=adjusted.get((claim_id, True), 0),
        )
        for claim_id in ids
    }


def diagnoses_of(session: Session, claim: Claim) -> list[ClaimDiagnosis]:
    return list(
        session.scalars(
            select(ClaimDiagnosis)
            .where(ClaimDiagnosis.tenant_id == claim.tenant_id, ClaimDiagnosis.claim_id == claim.id)
            .order_by(ClaimDiagnosis.pointer)
        )
    )


def lines_of(session: Session, claim: Claim) -> list[ClaimLine]:
    return list(
        session.scalars(
            select(ClaimLine)
            .where(ClaimLine.tenant_id == claim.tenant_id, ClaimLine.claim_id == claim.id)
            .order_by(ClaimLine.line_number)
        )
    )


def claim_view(session: Session, claim: Claim) -> ClaimView:
    tenant_id = claim.tenant_id
    return ClaimView(
        claim=claim,
        money=claim_money(session, tenant_id, [claim.id])[claim.id],
        diagnoses=diagnoses_of(session, claim),
        lines=lines_of(session, claim),
        events=list(
            session.scalars(
                select(ClaimEvent)
                .where(ClaimEvent.tenant_id == tenant_id, ClaimEvent.claim_id == claim.id)
                .order_by(ClaimEvent.occurred_at, ClaimEvent.id)
            )
        ),
    )


def audit_claim(
    session: Session,
    actor: Actor,
    claim: Claim,
    action: str,
    outcome: Outcome = Outcome.SUCCESS,
    **detail: str,
) -> None:
    audit(
        session,
        actor,
        tenant_id=claim.tenant_id,
        action=f"claim.{action}",
        resource_type="claim",
        resource_id=claim.id,
        patient_id=claim.patient_id,
        outcome=outcome,
        **detail,
    )


def read_claim(
    *, session: Session, tenant_id: uuid.UUID, claim_id: uuid.UUID, actor: Actor
) -> ClaimView:
    claim = find_claim(session, tenant_id, claim_id)
    audit_claim(session, actor, claim, "read")
    return claim_view(session, claim)


def list_claims(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    actor: Actor,
    status: ClaimStatus | None = None,
    payer_id: uuid.UUID | None = None,
    limit: int = 50,
) -> list[ClaimSummary]:
    """Newest first; one audit event per patient whose claims are listed."""
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be between 1 and 200")
    query = select(Claim).where(Claim.tenant_id == tenant_id)
    if status is not None:
        query = query.where(Claim.status == status.value)
    if payer_id is not None:
        query = query.where(Claim.payer_id == payer_id)
    claims = list(session.scalars(query.order_by(Claim.created_at.desc(), Claim.id).limit(limit)))
    money = claim_money(session, tenant_id, [c.id for c in claims])
    for patient_id in dict.fromkeys(c.patient_id for c in claims):
        audit(
            session,
            actor,
            tenant_id=tenant_id,
            action="claim.list",
            resource_type="claim",
            patient_id=patient_id,
            claims=sum(1 for c in claims if c.patient_id == patient_id),
        )
    return [ClaimSummary(c, money[c.id]) for c in claims]
