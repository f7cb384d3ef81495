"""Professional claims (837P) to payers and their lifecycle.

draft -> submitted -> accepted | denied; accepted -> paid | partially_paid as money is
posted (partially_paid -> paid); accepted may still be denied. A denied claim is corrected
by a replacement claim (frequency code 7) that names it. Every transition is checked here
under a row lock (illegal -> Conflict), again by a trigger in the database, and recorded in
`claim_events` with who and when.
"""

import uuid
from collections.abc import Mapping
from types import MappingProxyType

from psycopg.errors import UniqueViolation
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, Outcome
from transactional.billing.claim_document import claim_document
from transactional.billing.claim_views import (
    ClaimSummary,
    ClaimView,
    audit_claim,
    claim_money,
    claim_view,
    diagnoses_of,
    find_claim,
    lines_of,
)
from transactional.billing.coverage import billable_coverage
from transactional.billing.gateway import ClaimGateway, GatewayError
from transactional.billing.invoices import charges_of, find_invoice
from transactional.billing.models import (
    Charge,
    Claim,
    ClaimDiagnosis,
    ClaimEvent,
    ClaimLine,
    Invoice,
)
from transactional.billing.reason_codes import parse_reason, remark
from transactional.billing.types import (
    ChargeStatus,
    ClaimAction,
    ClaimStatus,
    FrequencyCode,
    InvoiceStatus,
)
from transactional.charting.models import Condition, Encounter
from transactional.errors import Conflict, InvalidInput
from transactional.patients.models import Coverage
from transactional.providers.identifiers import check_npi
from transactional.providers.models import Practitioner

S = ClaimStatus
# action -> (statuses it may start from, status it leads to); payments move the rest.
TRANSITIONS: Mapping[ClaimAction, tuple[frozenset[ClaimStatus], ClaimStatus]] = MappingProxyType(
    {
        ClaimAction.SUBMIT: (frozenset({S.DRAFT}), S.SUBMITTED),
        ClaimAction.ACCEPT: (frozenset({S.SUBMITTED}), S.ACCEPTED),
        ClaimAction.DENY: (frozenset({S.SUBMITTED, S.ACCEPTED}), S.DENIED),
    }
)
PAYABLE = frozenset({S.ACCEPTED, S.PARTIALLY_PAID})
# CMS place-of-service codes: office, inpatient hospital, emergency room.
PLACE_OF_SERVICE = MappingProxyType({"ambulatory": "11", "inpatient": "21", "emergency": "23"})
MAX_DIAGNOSES = 12
MAX_LINES = 50


def _event(
    session: Session,
    claim: Claim,
    action: ClaimAction,
    from_status: str | None,
    actor: Actor,
    *,
    reason_code: str | None = None,
    remark_code: str | None = None,
    reference: str | None = None,
) -> None:
    session.add(
        ClaimEvent(
            id=uuid.uuid4(),
            tenant_id=claim.tenant_id,
            claim_id=claim.id,
            action=action.value,
            from_status=from_status,
            to_status=claim.status,
            actor_user_id=actor.user_id,
            reason_code=reason_code,
            remark_code=remark_code,
            reference=reference,
        )
    )


def _npi_of(session: Session, tenant_id: uuid.UUID, practitioner_id: uuid.UUID) -> str | None:
    return session.scalar(
        select(Practitioner.npi).where(
            Practitioner.tenant_id == tenant_id, Practitioner.id == practitioner_id
        )
    )


def _diagnoses(session: Session, charges: list[Charge]) -> list[Condition]:
    """The conditions the charges point at, principal (lowest rank) first."""
    ids = {condition_id for charge in charges for condition_id in charge.diagnosis_ids}
    conditions = list(
        session.scalars(
            select(Condition).where(
                Condition.tenant_id == charges[0].tenant_id, Condition.id.in_(ids)
            )
        )
    )
    conditions.sort(key=lambda c: (c.rank if c.rank is not None else 99, c.code))
    if len(conditions) > MAX_DIAGNOSES:
        raise InvalidInput(f"a claim carries at most {MAX_DIAGNOSES} diagnoses")
    return conditions


def _build(
    session: Session,
    invoice: Invoice,
    coverage: Coverage,
    billing_npi: str | None,
    actor: Actor,
    original: Claim | None = None,
) -> Claim:
    tenant_id = invoice.tenant_id
    charges = [
        c for c in charges_of(session, tenant_id, [invoice.id]) if c.status == ChargeStatus.ACTIVE
    ]
    if not charges:
        raise Conflict("the invoice has no active charges to claim")
    if len(charges) > MAX_LINES:
        raise InvalidInput(f"a claim carries at most {MAX_LINES} lines")
    encounter = session.get_one(Encounter, invoice.encounter_id)
    npis = {}
    for practitioner_id in {c.rendering_practitioner_id for c in charges}:
        npi = _npi_of(session, tenant_id, practitioner_id)
        if npi is None:
            raise InvalidInput("a rendering practitioner has no NPI; a claim needs one")
        npis[practitioner_id] = npi
    rendering = _npi_of(session, tenant_id, encounter.practitioner_id)
    rendering = rendering or npis[charges[0].rendering_practitioner_id]
    claim = Claim(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        patient_id=invoice.patient_id,
        invoice_id=invoice.id,
        coverage_id=coverage.id,
        payer_id=coverage.payer_id,
        member_id=coverage.member_id,
        frequency_code=(FrequencyCode.ORIGINAL if original is None else FrequencyCode.REPLACEMENT),
        original_claim_id=original.id if original is not None else None,
        status=S.DRAFT.value,
        place_of_service=PLACE_OF_SERVICE[encounter.encounter_class],
        billing_npi=check_npi(billing_npi) if billing_npi else rendering,
        rendering_npi=rendering,
        total_charge_cents=sum(c.amount_cents for c in charges),
    )
    conditions = _diagnoses(session, charges)
    pointers = {condition.id: n for n, condition in enumerate(conditions, start=1)}
    session.add(claim)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        if isinstance(error.orig, UniqueViolation):
            raise Conflict("this invoice already has a live claim to this coverage") from None
        raise
    session.add_all(
        ClaimDiagnosis(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            claim_id=claim.id,
            pointer=pointers[condition.id],
            condition_id=condition.id,
            code_system=condition.code_system,
            code=condition.code,
        )
        for condition in conditions
    )
    session.add_all(
        ClaimLine(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            claim_id=claim.id,
            line_number=number,
            charge_id=charge.id,
            code_system=charge.code_system,
            code=charge.code,
            modifiers=charge.modifiers,
            units=charge.units,
            service_date=charge.service_date,
            amount_cents=charge.amount_cents,
            diagnosis_pointers=[pointers[c] for c in charge.diagnosis_ids],
            rendering_npi=npis[charge.rendering_practitioner_id],
        )
        for number, charge in enumerate(charges, start=1)
    )
    _event(session, claim, ClaimAction.CREATE, None, actor)
    session.flush()
    return claim


def _failed(session: Session, actor: Actor, claim: Claim, error: GatewayError) -> None:
    """The failed attempt is audited; callers keep this write even though they refuse."""
    audit_claim(session, actor, claim, "submit", Outcome.FAILURE, error=str(error))


def _open_invoice(session: Session, tenant_id: uuid.UUID, invoice_id: uuid.UUID) -> Invoice:
    invoice = find_invoice(session, tenant_id, invoice_id, for_update=True)
    if invoice.status != InvoiceStatus.OPEN:
        raise Conflict(f"the invoice is {invoice.status}; only an open invoice is claimed")
    return invoice


def create_claim(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    invoice_id: uuid.UUID,
    actor: Actor,
    coverage_id: uuid.UUID | None = None,
    billing_npi: str | None = None,
) -> ClaimView:
    """A draft claim of the invoice's active charges to a coverage (default: the invoice's).

    `billing_npi` defaults to the rendering practitioner's NPI (a solo practitioner billing
    under their own number).
    """
    invoice = _open_invoice(session, tenant_id, invoice_id)
    chosen = coverage_id or invoice.coverage_id
    if chosen is None:
        raise InvalidInput("the invoice is self-pay; name the coverage_id to claim")
    coverage = billable_coverage(
        session=session,
        tenant_id=tenant_id,
        patient_id=invoice.patient_id,
        coverage_id=chosen,
        on=invoice.service_date,
    )
    if invoice.coverage_id is None:
        invoice.coverage_id = coverage.id
    claim = _build(session, invoice, coverage, billing_npi, actor)
    audit_claim(session, actor, claim, "create")
    return claim_view(session, claim)


def _locked(session: Session, tenant_id: uuid.UUID, claim_id: uuid.UUID) -> Claim:
    """The claim, its open invoice locked first: every writer locks invoice, then claim."""
    invoice_id = find_claim(session, tenant_id, claim_id).invoice_id
    _open_invoice(session, tenant_id, invoice_id)
    return find_claim(session, tenant_id, claim_id, for_update=True)


def _transition(claim: Claim, action: ClaimAction) -> ClaimStatus:
    sources, target = TRANSITIONS[action]
    if ClaimStatus(claim.status) not in sources:
        raise Conflict(f"cannot {action.value} a claim that is {claim.status}")
    return target


def _send(session: Session, claim: Claim, gateway: ClaimGateway, actor: Actor) -> None:
    """Raises `GatewayError` before changing anything if the gateway does not take it."""
    document = claim_document(
        session, claim, diagnoses_of(session, claim), lines_of(session, claim)
    )
    receipt = gateway.submit(document)
    claim.status = S.SUBMITTED.value
    claim.tracking_id = receipt.tracking_id
    _event(session, claim, ClaimAction.SUBMIT, S.DRAFT.value, actor, reference=receipt.tracking_id)
    session.flush()
    audit_claim(session, actor, claim, "submit")


def submit_claim(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    claim_id: uuid.UUID,
    gateway: ClaimGateway,
    actor: Actor,
) -> ClaimView:
    """Hand a draft claim to the gateway; on `GatewayError` nothing changes but the audit."""
    claim = _locked(session, tenant_id, claim_id)
    _transition(claim, ClaimAction.SUBMIT)
    try:
        _send(session, claim, gateway, actor)
    except GatewayError as error:
        _failed(session, actor, claim, error)
        raise
    return claim_view(session, claim)


def accept_claim(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    claim_id: uuid.UUID,
    actor: Actor,
    payer_claim_number: str | None = None,
) -> ClaimView:
    """The payer acknowledged the claim for adjudication (a 277CA acceptance)."""
    claim = find_claim(session, tenant_id, claim_id, for_update=True)
    before = claim.status
    claim.status = _transition(claim, ClaimAction.ACCEPT).value
    if payer_claim_number is not None:
        number = payer_claim_number.strip()
        if not number or len(number) > 50:
            raise InvalidInput("payer_claim_number has 1 to 50 characters")
        claim.payer_claim_number = number
    _event(session, claim, ClaimAction.ACCEPT, before, actor, reference=claim.payer_claim_number)
    session.flush()
    audit_claim(session, actor, claim, "accept")
    return claim_view(session, claim)


def deny_claim(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    claim_id: uuid.UUID,
    reason_code: str,
    actor: Actor,
    remark_code: str | None = None,
) -> ClaimView:
    """Record the payer's denial with its CARC (e.g. "CO-16") and optional RARC (e.g. "MA130")."""
    reason = parse_reason(reason_code)
    checked_remark = remark(remark_code) if remark_code else None
    claim = find_claim(session, tenant_id, claim_id, for_update=True)
    before = claim.status
    claim.status = _transition(claim, ClaimAction.DENY).value
    claim.denial_group_code, claim.denial_reason_code = reason.group.value, reason.code
    claim.denial_remark_code = checked_remark
    _event(
        session,
        claim,
        ClaimAction.DENY,
        before,
        actor,
        reason_code=str(reason),
        remark_code=checked_remark,
    )
    session.flush()
    audit_claim(session, actor, claim, "deny", reason=str(reason))
    return claim_view(session, claim)


def resubmit_claim(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    claim_id: uuid.UUID,
    gateway: ClaimGateway,
    actor: Actor,
    coverage_id: uuid.UUID | None = None,
) -> ClaimView:
    """Correct a denied claim: a replacement claim (frequency 7) of the invoice's current
    charges, linked to the original and submitted at once. Returns the replacement."""
    original = _locked(session, tenant_id, claim_id)
    if original.status != S.DENIED:
        raise Conflict(f"only a denied claim is resubmitted; this one is {original.status}")
    replaced_by = session.scalar(
        select(Claim.id).where(Claim.tenant_id == tenant_id, Claim.original_claim_id == original.id)
    )
    if replaced_by is not None:
        raise Conflict(f"this claim was already resubmitted as claim {replaced_by}")
    invoice = find_invoice(session, tenant_id, original.invoice_id)
    coverage = billable_coverage(
        session=session,
        tenant_id=tenant_id,
        patient_id=invoice.patient_id,
        coverage_id=coverage_id or original.coverage_id,
        on=invoice.service_date,
    )
    try:
        # All or nothing: a replacement the gateway did not take is not kept.
        with session.begin_nested():
            replacement = _build(session, invoice, coverage, original.billing_npi, actor, original)
            _event(
                session,
                original,
                ClaimAction.REPLACE,
                original.status,
                actor,
                reference=str(replacement.id),
            )
            audit_claim(session, actor, replacement, "create", replaces=str(original.id))
            _send(session, replacement, gateway, actor)
    except GatewayError as error:
        _failed(session, actor, original, error)
        raise
    return claim_view(session, replacement)


def settle(session: Session, claim: Claim, actor: Actor) -> None:
    """After money was posted against `claim`: paid once nothing is left, else partially paid."""
    if ClaimStatus(claim.status) not in PAYABLE:
        raise Conflict(f"money is posted to accepted claims; this one is {claim.status}")
    summary = ClaimSummary(claim, claim_money(session, claim.tenant_id, [claim.id])[claim.id])
    if summary.remaining_cents < 0:
        raise Conflict("more would be posted to the claim than it charged")
    before = claim.status
    claim.status = (S.PAID if summary.remaining_cents == 0 else S.PARTIALLY_PAID).value
    _event(session, claim, ClaimAction.REMIT, before, actor)
    session.flush()
