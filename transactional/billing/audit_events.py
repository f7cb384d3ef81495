"""The one way billing appends to the audit trail: identifiers and codes, never amounts of PHI."""

import uuid

from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, Outcome, record


def audit(
    session: Session,
    actor: Actor,
    *,
    tenant_id: uuid.UUID,
    action: str,
    resource_type: str,
    resource_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    **detail: str | int | bool | list[str] | None,
) -> None:
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(
            action=action,
            outcome=outcome,
            resource_type=resource_type,
            resource_id=resource_id,
            patient_id=patient_id,
            detail=detail,
        ),
    )
