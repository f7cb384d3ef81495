"""Signing a prescription: the safety check under a per-patient lock, refusal or override,
and the findings stored with the signature.

Two prescriptions signed at once for one patient each see the other: the check runs after
a lock on the patient row. A critical finding refuses the signature before anything is
written unless the caller gives an override reason; the route decides who may
(PRESCRIPTION_OVERRIDE).
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.cds.triggers import after_signing
from transactional.errors import Conflict, InvalidInput
from transactional.medications.checks import Finding, blocking, check
from transactional.medications.knowledge import Medication, knowledge_base
from transactional.medications.medication_list import allergy_facts, medication_facts
from transactional.medications.models import Prescription, PrescriptionFinding
from transactional.medications.types import PrescriptionStatus
from transactional.patients.models import Patient

S = PrescriptionStatus


class PrescriptionBlocked(Conflict):
    """Signing refused by critical findings; `findings` lists every finding of the check."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        count = len(blocking(findings))
        super().__init__(
            f"signing is blocked by {count} critical finding{'s' if count != 1 else ''}; "
            "change the order or give an override_reason"
        )


def audit(
    session: Session,
    actor: Actor,
    prescription: Prescription,
    action: str,
    **detail: str | int | bool | list[str] | None,
) -> None:
    record(
        session=session,
        tenant_id=prescription.tenant_id,
        actor=actor,
        entry=AuditEntry(
            action=action,
            resource_type="prescription",
            resource_id=prescription.id,
            patient_id=prescription.patient_id,
            detail=detail,
        ),
    )


def clean_text(value: str | None, field: str, limit: int) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value.strip()) > limit:
        raise InvalidInput(f"{field} must be at most {limit} characters")
    return value.strip()


def _lock_patient(session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID) -> None:
    """Serialize signings per patient; FOR NO KEY UPDATE lets rows referencing it be written."""
    session.execute(
        select(Patient.id)
        .where(Patient.tenant_id == tenant_id, Patient.id == patient_id)
        .with_for_update(key_share=True)
    )


def sign(
    session: Session,
    prescription: Prescription,
    actor: Actor,
    override_reason: str | None,
    *,
    created: bool = False,
) -> list[PrescriptionFinding]:
    """Check, then sign; raises PrescriptionBlocked before writing anything if refused.

    One audit event, `prescription.sign` (with `created` when the order is new), plus
    `prescription.override` when critical findings were overridden."""
    tenant_id, patient_id = prescription.tenant_id, prescription.patient_id
    _lock_patient(session, tenant_id, patient_id)
    kb = knowledge_base()
    active = [
        m
        for m in medication_facts(session, tenant_id, patient_id)
        if m.prescription_id != prescription.id
    ]
    candidate = Medication(
        prescription.medication_code,
        prescription.medication_display,
        prescription.medication_tty,
        tuple(prescription.ingredient_codes),
    )
    findings = check(
        candidate=candidate,
        active=active,
        allergies=allergy_facts(session, tenant_id, patient_id),
        knowledge=kb,
    )
    critical = blocking(findings)
    reason = clean_text(override_reason, "override_reason", 500)
    if critical and reason is None:
        raise PrescriptionBlocked(findings)
    now = utcnow()
    prescription.status = S.ACTIVE
    prescription.signed_at = now
    prescription.signed_by = actor.user_id
    prescription.knowledge_version = kb.provenance.version
    if critical:
        prescription.override_reason = reason
        prescription.overridden_by = actor.user_id
        prescription.overridden_at = now
    session.flush()
    stored = [_stored(prescription, finding, overridden=bool(critical)) for finding in findings]
    session.add_all(stored)
    session.flush()
    audit(
        session,
        actor,
        prescription,
        "prescription.sign",
        medication=prescription.medication_code,
        findings=len(findings),
        created=created,
    )
    if critical:
        audit(
            session,
            actor,
            prescription,
            "prescription.override",
            rules=sorted({f.rule_id for f in critical}),
        )
    after_signing(session=session, prescription=prescription, actor=actor)
    return stored


def _stored(
    prescription: Prescription, finding: Finding, *, overridden: bool
) -> PrescriptionFinding:
    allergy = finding.allergy
    return PrescriptionFinding(
        id=uuid.uuid4(),
        tenant_id=prescription.tenant_id,
        prescription_id=prescription.id,
        kind=finding.kind.value,
        severity=finding.severity.value,
        rule_id=finding.rule_id,
        drug_code=finding.drug_code,
        drug_display=finding.drug_display,
        interacting_code=finding.interacting_code,
        interacting_display=finding.interacting_display,
        interacting_prescription_id=finding.interacting_prescription_id,
        allergy_id=allergy.allergy_id if allergy else None,
        allergy_substance_system=allergy.system if allergy else None,
        allergy_substance_code=allergy.code if allergy else None,
        allergy_substance_display=allergy.display if allergy else None,
        rationale=finding.rationale,
        management=finding.management,
        source=finding.source[:500],
        overridden=overridden and finding.blocks,
    )
