"""Reading and verifying the tenant's audit trail. Reading it is itself audited."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import Principal, SessionDep, require
from api.schemas.audit import AuditEventOut, AuditEventPage, AuditVerification, BrokenEvent
from transactional.audit.trail import AuditEntry, list_events, record, verify
from transactional.identity.roles import Permission

router = APIRouter(prefix="/api/v1/audit-events", tags=["audit"])

AuditReader = Annotated[Principal, Depends(require(Permission.AUDIT_READ))]


@router.get("", response_model=AuditEventPage)
def list_audit_events(
    principal: AuditReader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        uuid.UUID | None, Query(description="next_cursor of the previous page")
    ] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    patient_id: uuid.UUID | None = None,
    actor_user_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditEventPage:
    """Newest first. Pass `next_cursor` back as `cursor` for the next page."""
    events = list_events(
        session=session,
        tenant_id=principal.tenant_id,
        limit=limit + 1,
        before=cursor,
        action=action,
        patient_id=patient_id,
        actor_user_id=actor_user_id,
        since=since,
        until=until,
    )
    more = len(events) > limit
    events = events[:limit]
    page = AuditEventPage(
        items=[AuditEventOut.model_validate(event) for event in events],
        next_cursor=events[-1].id if more else None,
    )
    record(
        session=session,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        entry=AuditEntry(action="audit.list", detail={"returned": len(events)}),
    )
    return page


@router.get("/verify", response_model=AuditVerification)
def verify_audit_trail(principal: AuditReader, session: SessionDep) -> AuditVerification:
    """Recompute the tenant's hash chain; report the first event that does not fit."""
    result = verify(session=session, tenant_id=principal.tenant_id)
    broken = result.first_broken
    record(
        session=session,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        entry=AuditEntry(action="audit.verify", detail={"valid": result.valid}),
    )
    return AuditVerification(
        valid=result.valid,
        events_checked=result.events_checked,
        first_broken=BrokenEvent(
            id=broken.event_id, chain=broken.chain, seq=broken.seq, reason=broken.reason
        )
        if broken
        else None,
    )
