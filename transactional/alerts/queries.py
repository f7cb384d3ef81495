"""Reading alerts: a patient's, and a clinician's inbox. Every read is audited per patient."""

import uuid
from collections.abc import Iterable

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from transactional.alerts.models import ALERT_STATUSES, ClinicalAlert
from transactional.audit.trail import Actor, AuditEntry, record
from transactional.errors import InvalidInput
from transactional.patients.registry import find_patient
from transactional.providers.models import Practitioner

# critical first, then the newest
_ORDER = (
    case({"critical": 0, "warning": 1}, value=ClinicalAlert.severity, else_=2),
    ClinicalAlert.created_at.desc(),
    ClinicalAlert.id,
)


def _status(status: str | None) -> None:
    if status is not None and status not in ALERT_STATUSES:
        raise InvalidInput(f"status must be one of: {', '.join(ALERT_STATUSES)}")


def _audit_reads(
    session: Session,
    tenant_id: uuid.UUID,
    actor: Actor,
    action: str,
    alerts: Iterable[ClinicalAlert],
) -> None:
    counts: dict[uuid.UUID, int] = {}
    for alert in alerts:
        counts[alert.patient_id] = counts.get(alert.patient_id, 0) + 1
    for patient_id, count in counts.items():
        record(
            session=session,
            tenant_id=tenant_id,
            actor=actor,
            entry=AuditEntry(
                action=action,
                resource_type="clinical_alert",
                patient_id=patient_id,
                detail={"alerts": count},
            ),
        )


def alerts_of_patient(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    actor: Actor,
    status: str | None = None,
) -> list[ClinicalAlert]:
    _status(status)
    patient = find_patient(session=session, tenant_id=tenant_id, patient_id=patient_id)
    query = select(ClinicalAlert).where(
        ClinicalAlert.tenant_id == tenant_id, ClinicalAlert.patient_id == patient.id
    )
    if status is not None:
        query = query.where(ClinicalAlert.status == status)
    found = list(session.scalars(query.order_by(*_ORDER)))
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(
            action="alert.list",
            resource_type="clinical_alert",
            patient_id=patient.id,
            detail={"alerts": len(found)},
        ),
    )
    return found


def inbox(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    actor: Actor,
    status: str | None = "open",
    limit: int = 100,
) -> list[ClinicalAlert]:
    """Alerts addressed to the practitioner linked to `user_id`; a user who is not linked
    to a practitioner has none."""
    _status(status)
    practitioner_id = session.scalar(
        select(Practitioner.id).where(
            Practitioner.tenant_id == tenant_id, Practitioner.user_id == user_id
        )
    )
    if practitioner_id is None:
        return []
    query = select(ClinicalAlert).where(
        ClinicalAlert.tenant_id == tenant_id,
        ClinicalAlert.recipient_practitioner_id == practitioner_id,
    )
    if status is not None:
        query = query.where(ClinicalAlert.status == status)
    found = list(session.scalars(query.order_by(*_ORDER).limit(limit)))
    _audit_reads(session, tenant_id, actor, "alert.inbox", found)
    return found
