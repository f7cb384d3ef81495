"""Claims to payers: draft, submit through the claim gateway, accept, deny, resubmit.

Drafting needs billing.write; moving a claim through its lifecycle needs claim.submit;
reads need billing.read. An illegal transition is a 409. When the gateway does not take a
claim the answer is a 502 problem that says why without any claim content, and the claim
stays as it was (the failed attempt is audited).
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.deps import Principal, ServicesDep, SessionDep, require
from api.problems import Problem
from api.schemas.billing import (
    AcceptIn,
    ClaimCreate,
    ClaimOut,
    ClaimPage,
    ClaimStatusName,
    ClaimSummaryOut,
    DenyIn,
    ResubmitIn,
)
from transactional.billing import claim_views, claims
from transactional.billing.gateway import ClaimGateway, GatewayError, claim_gateway
from transactional.billing.types import ClaimStatus
from transactional.identity.roles import Permission

router = APIRouter(prefix="/api/v1/claims", tags=["claims"])

Reader = Annotated[Principal, Depends(require(Permission.BILLING_READ))]
Writer = Annotated[Principal, Depends(require(Permission.BILLING_WRITE))]
Submitter = Annotated[Principal, Depends(require(Permission.CLAIM_SUBMIT))]


async def get_claim_gateway(services: ServicesDep) -> ClaimGateway:
    """The gateway the settings choose (offline unless `claim_gateway_url` is set).
    Tests override this dependency to inspect what was submitted."""
    return claim_gateway(services.settings)


GatewayDep = Annotated[ClaimGateway, Depends(get_claim_gateway)]


@contextmanager
def _gateway_problems() -> Iterator[None]:
    try:
        yield
    except GatewayError as error:
        raise Problem(
            502,
            "claim-gateway-error",
            str(error),
            title="The claim gateway did not take the claim",
            keep_writes=True,
        ) from None


@router.post("", response_model=ClaimOut, status_code=status.HTTP_201_CREATED)
def create_claim(body: ClaimCreate, principal: Writer, session: SessionDep) -> ClaimOut:
    """A draft claim of the invoice's active charges, with their diagnosis pointers."""
    view = claims.create_claim(
        session=session,
        tenant_id=principal.tenant_id,
        invoice_id=body.invoice_id,
        coverage_id=body.coverage_id,
        billing_npi=body.billing_npi,
        actor=principal.actor,
    )
    return ClaimOut.of(view)


@router.get("", response_model=ClaimPage)
def list_claims(
    principal: Reader,
    session: SessionDep,
    claim_status: Annotated[ClaimStatusName | None, Query(alias="status")] = None,
    payer_id: Annotated[uuid.UUID | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ClaimPage:
    """Newest first."""
    found = claim_views.list_claims(
        session=session,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        status=ClaimStatus(claim_status) if claim_status else None,
        payer_id=payer_id,
        limit=limit,
    )
    return ClaimPage(items=[ClaimSummaryOut.of(summary) for summary in found])


@router.get("/{claim_id}", response_model=ClaimOut)
def read_claim(claim_id: uuid.UUID, principal: Reader, session: SessionDep) -> ClaimOut:
    view = claim_views.read_claim(
        session=session, tenant_id=principal.tenant_id, claim_id=claim_id, actor=principal.actor
    )
    return ClaimOut.of(view)


@router.post(
    "/{claim_id}/submit",
    response_model=ClaimOut,
    responses={502: {"description": "The claim gateway did not take the claim"}},
)
def submit_claim(
    claim_id: uuid.UUID, principal: Submitter, session: SessionDep, gateway: GatewayDep
) -> ClaimOut:
    with _gateway_problems():
        view = claims.submit_claim(
            session=session,
            tenant_id=principal.tenant_id,
            claim_id=claim_id,
            gateway=gateway,
            actor=principal.actor,
        )
    return ClaimOut.of(view)


@router.post("/{claim_id}/accept", response_model=ClaimOut)
def accept_claim(
    claim_id: uuid.UUID, principal: Submitter, session: SessionDep, body: AcceptIn | None = None
) -> ClaimOut:
    """The payer acknowledged the claim (277CA)."""
    view = claims.accept_claim(
        session=session,
        tenant_id=principal.tenant_id,
        claim_id=claim_id,
        payer_claim_number=body.payer_claim_number if body else None,
        actor=principal.actor,
    )
    return ClaimOut.of(view)


@router.post("/{claim_id}/deny", response_model=ClaimOut)
def deny_claim(
    claim_id: uuid.UUID, body: DenyIn, principal: Submitter, session: SessionDep
) -> ClaimOut:
    """Record the payer's denial: a group and CARC ("CO-16") and optionally a RARC."""
    view = claims.deny_claim(
        session=session,
        tenant_id=principal.tenant_id,
        claim_id=claim_id,
        reason_code=body.reason_code,
        remark_code=body.remark_code,
        actor=principal.actor,
    )
    return ClaimOut.of(view)


@router.post(
    "/{claim_id}/resubmit",
    response_model=ClaimOut,
    status_code=status.HTTP_201_CREATED,
    responses={502: {"description": "The claim gateway did not take the claim"}},
)
def resubmit_claim(
    claim_id: uuid.UUID,
    principal: Submitter,
    session: SessionDep,
    gateway: GatewayDep,
    body: ResubmitIn | None = None,
) -> ClaimOut:
    """Correct a denied claim: a replacement claim (frequency code 7) linked to it, of the
    invoice's current charges, submitted at once. Answers the replacement."""
    with _gateway_problems():
        view = claims.resubmit_claim(
            session=session,
            tenant_id=principal.tenant_id,
            claim_id=claim_id,
            gateway=gateway,
            coverage_id=body.coverage_id if body else None,
            actor=principal.actor,
        )
    return ClaimOut.of(view)
