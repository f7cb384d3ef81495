"""Clinical alerts: the signed-in clinician's inbox, a patient's alerts, and acting on one."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import Principal, SessionDep, require
from api.schemas.alerts import AlertOut, AlertStatus, OverrideIn
from transactional.alerts import lifecycle, queries
from transactional.alerts.models import ClinicalAlert
from transactional.identity.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["alerts"])

Reader = Annotated[Principal, Depends(require(Permission.CHART_READ))]
Acting = Annotated[Principal, Depends(require(Permission.RESULT_ACKNOWLEDGE))]


def alert_out(row: ClinicalAlert) -> AlertOut:
    return AlertOut.model_validate(
        {
            "id": row.id,
            "patient_id": row.patient_id,
            "source": row.source,
            "kind": row.kind,
            "rule_id": row.rule_id,
            "rule_version": row.rule_version,
            "severity": row.severity,
            "title": row.title,
            "rationale": row.rationale,
            "data": row.data,
            "suggested_actions": row.suggested_actions,
            "recipient_practitioner_id": row.recipient_practitioner_id,
            "subject": {"type": row.subject_type, "id": row.subject_id},
            "status": row.status,
            "acted_by": row.acted_by,
            "acted_at": row.acted_at,
            "reason": row.reason,
            "created_at": row.created_at,
        }
    )


@router.get("/alerts", response_model=list[AlertOut])
def inbox(
    principal: Reader,
    session: SessionDep,
    alert_status: Annotated[AlertStatus | None, Query(alias="status")] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertOut]:
    """Alerts addressed to the practitioner linked to the signed-in user, critical first."""
    found = queries.inbox(
        session=session,
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        status=alert_status,
        limit=limit,
        actor=principal.actor,
    )
    return [alert_out(a) for a in found]


@router.get("/patients/{patient_id}/alerts", response_model=list[AlertOut])
def patient_alerts(
    patient_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    alert_status: Annotated[AlertStatus | None, Query(alias="status")] = None,
) -> list[AlertOut]:
    found = queries.alerts_of_patient(
        session=session,
        tenant_id=principal.tenant_id,
        patient_id=patient_id,
        status=alert_status,
        actor=principal.actor,
    )
    return [alert_out(a) for a in found]


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge(alert_id: uuid.UUID, principal: Acting, session: SessionDep) -> AlertOut:
    alert = lifecycle.acknowledge(
        session=session, tenant_id=principal.tenant_id, alert_id=alert_id, actor=principal.actor
    )
    return alert_out(alert)


@router.post("/alerts/{alert_id}/override", response_model=AlertOut)
def override(
    alert_id: uuid.UUID, body: OverrideIn, principal: Acting, session: SessionDep
) -> AlertOut:
    alert = lifecycle.override(
        session=session,
        tenant_id=principal.tenant_id,
        alert_id=alert_id,
        reason=body.reason,
        actor=principal.actor,
    )
    return alert_out(alert)
