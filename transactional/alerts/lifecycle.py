"""Raising an alert and closing it: acknowledge, override with a reason, or resolve.

Closing is one conditional UPDATE (`... WHERE status = 'open'`), so two people acting on the
same alert at once cannot both succeed: the second gets a 409. Raising is idempotent per
subject: while an alert of a kind is open on a subject, raising it again returns that alert
(a partial unique index makes this hold under concurrency too).
"""

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from transactional.alerts.models import SEVERITIES, ClinicalAlert
from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.errors import Conflict, InvalidInput, NotFound

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
JsonValue = str | int | bool | None | list[Any] | dict[str, Any]


@dataclass(frozen=True)
class NewAlert:
    """What a rule found. `data` holds the codes, values and ids the rule used (JSON-ready);
    `subject` is the record the alert is about, e.g. ("lab_result", result id)."""

    patient_id: uuid.UUID
    source: str
    kind: str
    severity: str
    title: str
    rationale: str
    subject_type: str
    subject_id: uuid.UUID
    data: Mapping[str, JsonValue] = field(default_factory=dict)
    suggested_actions: Sequence[str] = ()
    recipient_practitioner_id: uuid.UUID | None = None
    rule_id: str | None = None
    rule_version: str | None = None


def _audit(session: Session, actor: Actor, alert: ClinicalAlert, action: str) -> None:
    record(
        session=session,
        tenant_id=alert.tenant_id,
        actor=actor,
        entry=AuditEntry(
            action=action,
            resource_type="clinical_alert",
            resource_id=alert.id,
            patient_id=alert.patient_id,
            detail={"kind": alert.kind, "severity": alert.severity, "status": alert.status},
        ),
    )


def _check(data: NewAlert) -> None:
    for name in ("source", "kind", "subject_type"):
        if not _IDENTIFIER.fullmatch(getattr(data, name)):
            raise InvalidInput(f"{name} must be a lower-case identifier")
    if data.severity not in SEVERITIES:
        raise InvalidInput(f"severity must be one of: {', '.join(SEVERITIES)}")
    if not data.title.strip() or len(data.title) > 200:
        raise InvalidInput("an alert needs a title of 1 to 200 characters")
    if not data.rationale.strip():
        raise InvalidInput("an alert needs a rationale")
    if data.rule_version is not None and data.rule_id is None:
        raise InvalidInput("rule_version needs a rule_id")


def raise_alert(
    *, session: Session, tenant_id: uuid.UUID, data: NewAlert, actor: Actor
) -> ClinicalAlert:
    """Open an alert, or return the one already open for this kind and subject."""
    _check(data)
    now = utcnow()
    inserted = session.scalar(
        insert(ClinicalAlert)
        .values(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            patient_id=data.patient_id,
            source=data.source,
            kind=data.kind,
            rule_id=data.rule_id,
            rule_version=data.rule_version,
            severity=data.severity,
            title=data.title.strip(),
            rationale=data.rationale.strip(),
            data=dict(data.data),
            suggested_actions=[{"label": label} for label in data.suggested_actions],
            recipient_practitioner_id=data.recipient_practitioner_id,
            subject_type=data.subject_type,
            subject_id=data.subject_id,
            status="open",
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=["tenant_id", "kind", "subject_type", "subject_id"],
            # A literal, not a bound parameter: once psycopg prepares the statement (after 5
            # runs on a connection) a generic plan cannot prove `status = $1` matches the
            # partial index, and PostgreSQL refuses the ON CONFLICT.
            index_where=text("status = 'open'"),
        )
        .returning(ClinicalAlert.id)
    )
    alert = find_open(
        session=session,
        tenant_id=tenant_id,
        kind=data.kind,
        subject_type=data.subject_type,
        subject_id=data.subject_id,
    )
    if alert is None:  # closed between our insert attempt and the read: raise it anew
        return raise_alert(session=session, tenant_id=tenant_id, data=data, actor=actor)
    if inserted is not None:
        _audit(session, actor, alert, "alert.raise")
    return alert


def find_alert(*, session: Session, tenant_id: uuid.UUID, alert_id: uuid.UUID) -> ClinicalAlert:
    alert = session.scalar(
        select(ClinicalAlert).where(
            ClinicalAlert.tenant_id == tenant_id, ClinicalAlert.id == alert_id
        )
    )
    if alert is None:
        raise NotFound("alert not found")
    return alert


def find_open(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    kind: str,
    subject_type: str,
    subject_id: uuid.UUID,
) -> ClinicalAlert | None:
    """The open alert of a kind about a subject, if any (there is at most one)."""
    return session.scalar(
        select(ClinicalAlert).where(
            ClinicalAlert.tenant_id == tenant_id,
            ClinicalAlert.kind == kind,
            ClinicalAlert.subject_type == subject_type,
            ClinicalAlert.subject_id == subject_id,
            ClinicalAlert.status == "open",
        )
    )


_CLOSING_ACTIONS = {
    "acknowledged": "alert.acknowledge",
    "overridden": "alert.override",
    "resolved": "alert.supersede",
}


def _try_close(
    session: Session,
    tenant_id: uuid.UUID,
    alert_id: uuid.UUID,
    *,
    status: str,
    actor: Actor,
    reason: str | None,
    audit_action: str | None = None,
) -> ClinicalAlert | None:
    now = utcnow()
    closed = session.scalars(
        update(ClinicalAlert)
        .where(
            ClinicalAlert.tenant_id == tenant_id,
            ClinicalAlert.id == alert_id,
            ClinicalAlert.status == "open",
        )
        .values(status=status, acted_by=actor.user_id, acted_at=now, reason=reason, updated_at=now)
        .returning(ClinicalAlert),
        execution_options={"populate_existing": True},
    ).one_or_none()
    if closed is not None:
        _audit(session, actor, closed, audit_action or _CLOSING_ACTIONS[status])
    return closed


def _close(
    session: Session,
    tenant_id: uuid.UUID,
    alert_id: uuid.UUID,
    *,
    status: str,
    actor: Actor,
    reason: str | None,
) -> ClinicalAlert:
    closed = _try_close(session, tenant_id, alert_id, status=status, actor=actor, reason=reason)
    if closed is None:
        alert = find_alert(session=session, tenant_id=tenant_id, alert_id=alert_id)
        raise Conflict(f"this alert is already {alert.status}")
    return closed


def _user(actor: Actor) -> None:
    if actor.user_id is None:
        raise InvalidInput("an alert is acted on by a signed-in user")


def acknowledge(
    *, session: Session, tenant_id: uuid.UUID, alert_id: uuid.UUID, actor: Actor
) -> ClinicalAlert:
    """Record that a clinician has seen the alert and taken charge of it."""
    _user(actor)
    return _close(session, tenant_id, alert_id, status="acknowledged", actor=actor, reason=None)


def override(
    *, session: Session, tenant_id: uuid.UUID, alert_id: uuid.UUID, reason: str, actor: Actor
) -> ClinicalAlert:
    """Close the alert without following it; the reason is required and kept."""
    _user(actor)
    reason = reason.strip()
    if not reason:
        raise InvalidInput("overriding an alert needs a reason")
    if len(reason) > 500:
        raise InvalidInput("the reason must be at most 500 characters")
    return _close(session, tenant_id, alert_id, status="overridden", actor=actor, reason=reason)


def supersede(
    *, session: Session, tenant_id: uuid.UUID, alert_id: uuid.UUID, reason: str, actor: Actor
) -> ClinicalAlert | None:
    """Resolve an open alert that a worse finding about the same subject replaces (audited as
    `alert.supersede`); None if someone closed it first. An alert's content never changes
    (a trigger keeps it so), so a new finding is a new alert, and the old one says why it
    closed."""
    return _try_close(
        session, tenant_id, alert_id, status="resolved", actor=actor, reason=reason.strip()[:500]
    )


def resolve(
    *, session: Session, tenant_id: uuid.UUID, alert_id: uuid.UUID, reason: str, actor: Actor
) -> ClinicalAlert | None:
    """Resolve an open alert whose cause has gone (a care gap that closed), audited as
    `alert.resolve` with the reason; None if someone closed it first."""
    return _try_close(
        session,
        tenant_id,
        alert_id,
        status="resolved",
        actor=actor,
        reason=reason.strip()[:500],
        audit_action="alert.resolve",
    )


def resolve_for_subjects(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    subject_type: str,
    subject_ids: Sequence[uuid.UUID],
    reason: str,
    actor: Actor,
) -> list[ClinicalAlert]:
    """Close the open alerts about records that no longer stand (e.g. results entered in
    error); a clinician no longer needs to act on them, and the reason says why."""
    if not subject_ids:
        return []
    now = utcnow()
    resolved = list(
        session.scalars(
            update(ClinicalAlert)
            .where(
                ClinicalAlert.tenant_id == tenant_id,
                ClinicalAlert.subject_type == subject_type,
                ClinicalAlert.subject_id.in_(subject_ids),
                ClinicalAlert.status == "open",
            )
            .values(
                status="resolved",
                acted_by=actor.user_id,
                acted_at=now,
                reason=reason,
                updated_at=now,
            )
            .returning(ClinicalAlert),
            execution_options={"populate_existing": True},
        )
    )
    for alert in resolved:
        _audit(session, actor, alert, "alert.resolve")
    return resolved
