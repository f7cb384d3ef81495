"""Prescribing with safety checks, the prescription workflow and the medication list."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy.orm import Session

from api.deps import Principal, SessionDep, require
from api.problems import Problem
from api.schemas.coding import CodingOut
from api.schemas.prescriptions import (
    AllergyRef,
    AmountIn,
    AmountOut,
    FindingOut,
    FrequencyOut,
    LooseCoding,
    OverrideOut,
    PrescriptionCreate,
    PrescriptionOut,
    ReasonIn,
    SignIn,
)
from transactional.audit.trail import AuditEntry, Outcome, record
from transactional.errors import InvalidInput
from transactional.identity.roles import Permission
from transactional.medications import medication_list, prescriptions, workflow
from transactional.medications.checks import Finding
from transactional.medications.knowledge import knowledge_base
from transactional.medications.models import Prescription, PrescriptionFinding
from transactional.medications.signing import PrescriptionBlocked
from transactional.medications.types import RXNORM

router = APIRouter(prefix="/api/v1", tags=["prescriptions"])

Reader = Annotated[Principal, Depends(require(Permission.PRESCRIPTION_READ))]
Writer = Annotated[Principal, Depends(require(Permission.PRESCRIPTION_WRITE))]
Signer = Annotated[Principal, Depends(require(Permission.PRESCRIPTION_SIGN))]


def _ingredient(code: str) -> CodingOut:
    medication = knowledge_base().medication(code)
    return CodingOut(system=RXNORM, code=code, display=medication.display if medication else None)


def finding_out(row: PrescriptionFinding) -> FindingOut:
    allergy = None
    if row.allergy_substance_code is not None:
        allergy = AllergyRef(
            id=row.allergy_id,
            substance=CodingOut(
                system=row.allergy_substance_system or "",
                code=row.allergy_substance_code,
                display=row.allergy_substance_display,
            ),
        )
    return FindingOut(
        kind=row.kind,
        severity=row.severity,
        rule_id=row.rule_id,
        drug=CodingOut(system=RXNORM, code=row.drug_code, display=row.drug_display),
        interacting_drug=CodingOut(
            system=RXNORM, code=row.interacting_code, display=row.interacting_display
        )
        if row.interacting_code
        else None,
        interacting_prescription_id=row.interacting_prescription_id,
        allergy=allergy,
        rationale=row.rationale,
        management=row.management,
        source=row.source,
        overridden=row.overridden,
    )


def unsaved_finding_out(finding: Finding) -> FindingOut:
    """A finding of a refused signature: shown to the caller, never stored."""
    allergy = finding.allergy
    return FindingOut(
        kind=finding.kind.value,
        severity=finding.severity.value,
        rule_id=finding.rule_id,
        drug=CodingOut(system=RXNORM, code=finding.drug_code, display=finding.drug_display),
        interacting_drug=CodingOut(
            system=RXNORM, code=finding.interacting_code, display=finding.interacting_display
        )
        if finding.interacting_code
        else None,
        interacting_prescription_id=finding.interacting_prescription_id,
        allergy=AllergyRef(
            id=allergy.allergy_id,
            substance=CodingOut(system=allergy.system, code=allergy.code, display=allergy.display),
            severity=allergy.severity,
        )
        if allergy
        else None,
        rationale=finding.rationale,
        management=finding.management,
        source=finding.source,
        overridden=False,
    )


def prescription_out(row: Prescription, findings: list[PrescriptionFinding]) -> PrescriptionOut:
    allowed = row.quantity * (1 + row.refills) if row.quantity is not None else None
    return PrescriptionOut(
        id=row.id,
        patient_id=row.patient_id,
        status=row.status,
        medication=CodingOut(
            system=row.medication_system, code=row.medication_code, display=row.medication_display
        ),
        ingredients=[_ingredient(code) for code in row.ingredient_codes],
        dose=AmountOut(value=row.dose_value, unit=row.dose_unit)
        if row.dose_value is not None and row.dose_unit is not None
        else None,
        route=CodingOut(system=row.route_system, code=row.route_code, display=row.route_display)
        if row.route_system is not None and row.route_code is not None
        else None,
        frequency=FrequencyOut(
            code=row.frequency_code,
            display=row.frequency_display,
            per_day=row.frequency_per_day,
            as_needed=row.as_needed,
        )
        if row.frequency_code is not None and row.frequency_display is not None
        else None,
        duration_days=row.duration_days,
        quantity=AmountOut(value=row.quantity, unit=row.quantity_unit or "{each}")
        if row.quantity is not None
        else None,
        refills=row.refills,
        dispensed_quantity=row.dispensed_quantity,
        remaining_quantity=allowed - row.dispensed_quantity if allowed is not None else None,
        prescriber_id=row.prescriber_id,
        encounter_id=row.encounter_id,
        indication=CodingOut(
            system=row.indication_system or "",
            code=row.indication_code,
            display=row.indication_display,
        )
        if row.indication_code
        else None,
        note=row.note,
        knowledge_version=row.knowledge_version,
        created_at=row.created_at,
        created_by=row.created_by,
        signed_at=row.signed_at,
        signed_by=row.signed_by,
        sent_at=row.sent_at,
        sent_by=row.sent_by,
        cancelled_at=row.cancelled_at,
        cancelled_by=row.cancelled_by,
        cancel_reason=row.cancel_reason,
        stopped_at=row.stopped_at,
        stopped_by=row.stopped_by,
        stop_reason=row.stop_reason,
        last_dispensed_at=row.last_dispensed_at,
        override=OverrideOut(reason=row.override_reason, by=row.overridden_by, at=row.overridden_at)
        if row.override_reason
        else None,
        findings=[finding_out(f) for f in findings],
    )


def _demand(
    request: Request, principal: Principal, session: Session, permission: Permission
) -> None:
    """A permission this request needs only because of what its body asks (sign, override);
    refused like `require`: audited, 403, nothing else written."""
    if permission in principal.permissions:
        return
    route = request.scope.get("route")
    record(
        session=session,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        entry=AuditEntry(
            action="permission.denied",
            outcome=Outcome.DENIED,
            resource_type="route",
            resource_id=getattr(route, "path", None),
            detail={"permission": permission.value, "method": request.method},
        ),
    )
    raise Problem(
        403, detail=f"This action needs the {permission.value!r} permission.", keep_writes=True
    )


def _blocked(error: PrescriptionBlocked) -> Problem:
    return Problem(
        409,
        "prescription-blocked",
        str(error),
        title="Prescription blocked by safety checks",
        extra={
            "findings": [unsaved_finding_out(f).model_dump(mode="json") for f in error.findings]
        },
    )


def _amount(value: str | int | float | AmountIn | None) -> object:
    if isinstance(value, AmountIn):
        return {"value": value.value, "unit": value.unit}
    return value


def _code(value: str | LooseCoding) -> object:
    if isinstance(value, LooseCoding):
        return {"system": value.system, "code": value.code}
    return value


@router.post(
    "/patients/{patient_id}/prescriptions",
    response_model=PrescriptionOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "Blocked by a critical finding; body lists `findings`"}},
)
def prescribe(
    patient_id: uuid.UUID,
    body: PrescriptionCreate,
    request: Request,
    principal: Writer,
    session: SessionDep,
) -> PrescriptionOut:
    """Signed and active after the safety checks when the user may sign (and did not ask for
    a draft); otherwise an unchecked draft. Non-critical findings come back with the 201."""
    if body.patient_id is not None and body.patient_id != patient_id:
        raise InvalidInput("patient_id in the body differs from the path")
    if body.prescriber_id and body.practitioner_id and body.prescriber_id != body.practitioner_id:
        raise InvalidInput("prescriber_id and practitioner_id differ")
    if body.status == "active":
        _demand(request, principal, session, Permission.PRESCRIPTION_SIGN)
    sign = body.status != "draft" and Permission.PRESCRIPTION_SIGN in principal.permissions
    if body.override_reason:
        _demand(request, principal, session, Permission.PRESCRIPTION_OVERRIDE)
    data = prescriptions.NewPrescription(
        medication_system=body.medication.system,
        medication_code=body.medication.code,
        dose=_amount(body.dose),
        route=_code(body.route),
        frequency=_code(body.frequency),
        duration_days=body.duration_days,
        quantity=_amount(body.quantity),
        quantity_unit=body.quantity_unit,
        refills=body.refills,
        prescriber_id=body.prescriber_id or body.practitioner_id,
        encounter_id=body.encounter_id,
        indication_system=body.indication.system if body.indication else None,
        indication_code=body.indication.code if body.indication else None,
        note=body.note,
    )
    try:
        outcome = prescriptions.prescribe(
            session=session,
            tenant_id=principal.tenant_id,
            patient_id=patient_id,
            data=data,
            actor=principal.actor,
            sign=sign,
            override_reason=body.override_reason,
        )
    except PrescriptionBlocked as blocked:
        raise _blocked(blocked) from None
    return prescription_out(outcome.prescription, outcome.findings)


@router.get("/patients/{patient_id}/medications", response_model=list[PrescriptionOut])
def list_medications(
    patient_id: uuid.UUID, principal: Reader, session: SessionDep
) -> list[PrescriptionOut]:
    """What the patient is taking now: signed prescriptions not cancelled, stopped or run out."""
    found = medication_list.active_medications(
        session=session, tenant_id=principal.tenant_id, patient_id=patient_id, actor=principal.actor
    )
    return [prescription_out(p, []) for p in found]


@router.get("/prescriptions/{prescription_id}", response_model=PrescriptionOut)
def read_prescription(
    prescription_id: uuid.UUID, principal: Reader, session: SessionDep
) -> PrescriptionOut:
    outcome = prescriptions.read_prescription(
        session=session,
        tenant_id=principal.tenant_id,
        prescription_id=prescription_id,
        actor=principal.actor,
    )
    return prescription_out(outcome.prescription, outcome.findings)


@router.post(
    "/prescriptions/{prescription_id}/sign",
    response_model=PrescriptionOut,
    responses={409: {"description": "Blocked by a critical finding; body lists `findings`"}},
)
def sign(
    prescription_id: uuid.UUID,
    request: Request,
    principal: Signer,
    session: SessionDep,
    body: SignIn | None = None,
) -> PrescriptionOut:
    """Sign a draft: the safety checks run now."""
    override_reason = body.override_reason if body else None
    if override_reason:
        _demand(request, principal, session, Permission.PRESCRIPTION_OVERRIDE)
    try:
        outcome = prescriptions.sign_prescription(
            session=session,
            tenant_id=principal.tenant_id,
            prescription_id=prescription_id,
            actor=principal.actor,
            override_reason=override_reason,
        )
    except PrescriptionBlocked as blocked:
        raise _blocked(blocked) from None
    return prescription_out(outcome.prescription, outcome.findings)


def _transition(
    prescription_id: uuid.UUID,
    action: str,
    principal: Principal,
    session: Session,
    body: ReasonIn | None,
) -> PrescriptionOut:
    prescription = workflow.transition(
        session=session,
        tenant_id=principal.tenant_id,
        prescription_id=prescription_id,
        action=action,
        actor=principal.actor,
        reason=body.reason if body else None,
    )
    return prescription_out(
        prescription,
        prescriptions.findings_of(
            session=session, tenant_id=principal.tenant_id, prescription_id=prescription.id
        ),
    )


@router.post("/prescriptions/{prescription_id}/send", response_model=PrescriptionOut)
def send(prescription_id: uuid.UUID, principal: Writer, session: SessionDep) -> PrescriptionOut:
    """Transmit an active prescription to the pharmacy."""
    return _transition(prescription_id, "send", principal, session, None)


@router.post("/prescriptions/{prescription_id}/cancel", response_model=PrescriptionOut)
def cancel(
    prescription_id: uuid.UUID,
    principal: Writer,
    session: SessionDep,
    body: ReasonIn | None = None,
) -> PrescriptionOut:
    """Cancel before anything is dispensed; `reason` is required."""
    return _transition(prescription_id, "cancel", principal, session, body)


@router.post("/prescriptions/{prescription_id}/stop", response_model=PrescriptionOut)
def stop(
    prescription_id: uuid.UUID,
    principal: Writer,
    session: SessionDep,
    body: ReasonIn | None = None,
) -> PrescriptionOut:
    """Stop a medication the patient is on; `reason` is required."""
    return _transition(prescription_id, "stop", principal, session, body)
