"""Turning a finding into a clinical alert: one open alert per rule and subject.

While an alert of a rule is open on a subject (an encounter, a prescription), an equal or
milder finding does not add another: the open alert already asks a clinician to act, and
closing it stays a human decision. A worse finding (higher severity, or a higher band or
more criteria at the same severity) supersedes it: the open one is resolved with the
reason, and a new one carries the new data. Alert content is never edited in place.
"""

import uuid

from sqlalchemy.orm import Session

from transactional.alerts.lifecycle import NewAlert, find_open, raise_alert, supersede
from transactional.alerts.models import ClinicalAlert
from transactional.audit.trail import Actor
from transactional.cds.types import SEVERITY_RANK, Finding

SOURCE = "decision_support"


def _standing(alert: ClinicalAlert) -> tuple[int, int]:
    rank = alert.data.get("rank")
    return SEVERITY_RANK[alert.severity], rank if isinstance(rank, int) else 0


def record_finding(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    finding: Finding,
    subject_type: str,
    subject_id: uuid.UUID,
    recipient_practitioner_id: uuid.UUID | None,
    actor: Actor,
) -> ClinicalAlert:
    """The open alert for this finding: the existing one, or a new one."""
    current = find_open(
        session=session,
        tenant_id=tenant_id,
        kind=finding.kind,
        subject_type=subject_type,
        subject_id=subject_id,
    )
    if current is not None:
        if (SEVERITY_RANK[finding.severity], finding.rank) <= _standing(current):
            return current
        supersede(
            session=session,
            tenant_id=tenant_id,
            alert_id=current.id,
            reason=f"Superseded by a more severe finding: {finding.summary}",
            actor=actor,
        )
    return raise_alert(
        session=session,
        tenant_id=tenant_id,
        data=NewAlert(
            patient_id=patient_id,
            source=SOURCE,
            kind=finding.kind,
            severity=finding.severity,
            title=finding.summary[:200],
            rationale=finding.rationale,
            subject_type=subject_type,
            subject_id=subject_id,
            data=dict(finding.data),
            suggested_actions=finding.suggested_actions,
            recipient_practitioner_id=recipient_practitioner_id,
            rule_id=finding.rule_id,
            rule_version=finding.rule_version,
        ),
        actor=actor,
    )
