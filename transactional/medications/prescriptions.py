"""Prescriptions: reading an order into its stored form, creating it (signed after the
safety checks, or as an unchecked draft), signing a draft later, and reading it back."""

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor
from transactional.charting.models import Encounter
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.medications import sig
from transactional.medications.knowledge import Medication, knowledge_base
from transactional.medications.models import Prescription, PrescriptionFinding
from transactional.medications.signing import PrescriptionBlocked, audit, clean_text, sign
from transactional.medications.types import RXNORM, PrescriptionStatus
from transactional.patients.models import Patient
from transactional.patients.registry import writable_patient
from transactional.providers.models import Practitioner
from transactional.terminology.catalog import validate

S = PrescriptionStatus
INDICATION_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10-cm", "http://snomed.info/sct")
MAX_REFILLS = 99
MAX_DAYS = 3650


@dataclass(frozen=True)
class NewPrescription:
    """A prescriber's order as written; `dose`, `route`, `frequency` and `quantity` take the
    liberal shapes `sig` reads."""

    medication_system: str
    medication_code: str
    dose: object
    route: object
    frequency: object
    duration_days: int | None = None
    quantity: object | None = None
    quantity_unit: str | None = None
    refills: int = 0
    prescriber_id: uuid.UUID | None = None
    encounter_id: uuid.UUID | None = None
    indication_system: str | None = None
    indication_code: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Outcome:
    prescription: Prescription
    findings: list[PrescriptionFinding]


def resolve_medication(system: str, code: str) -> Medication:
    """An RxNorm ingredient or clinical drug the knowledge base can check, or InvalidInput."""
    concept = validate(system, code, allowed=(RXNORM,))
    medication = knowledge_base().medication(concept.code)
    if medication is None:
        raise InvalidInput(
            f"RxNorm {concept.code} is not in the medication knowledge base; "
            "prescribe its ingredient or a listed clinical drug"
        )
    return medication


def _prescriber(
    session: Session, tenant_id: uuid.UUID, given: uuid.UUID | None, actor: Actor
) -> uuid.UUID | None:
    if given is not None:
        found = session.scalar(
            select(Practitioner.id).where(
                Practitioner.tenant_id == tenant_id, Practitioner.id == given
            )
        )
        if found is None:
            raise InvalidInput("prescriber_id does not name a practitioner of this tenant")
        return found
    if actor.user_id is None:
        return None
    return session.scalar(
        select(Practitioner.id).where(
            Practitioner.tenant_id == tenant_id, Practitioner.user_id == actor.user_id
        )
    )


def _encounter(
    session: Session, tenant_id: uuid.UUID, patient: Patient, encounter_id: uuid.UUID | None
) -> uuid.UUID | None:
    if encounter_id is None:
        return None
    found = session.scalar(
        select(Encounter.patient_id).where(
            Encounter.tenant_id == tenant_id, Encounter.id == encounter_id
        )
    )
    if found != patient.id:
        raise InvalidInput("encounter_id does not name an encounter of this patient")
    return encounter_id


def _whole(value: int | None, field: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{field} must be a whole number from {low} to {high}")
    return value


def _build(
    session: Session, tenant_id: uuid.UUID, patient: Patient, data: NewPrescription, actor: Actor
) -> Prescription:
    medication = resolve_medication(data.medication_system, data.medication_code)
    dose = sig.quantity(data.dose, "dose")
    route = sig.route(data.route)
    frequency = sig.frequency(data.frequency)
    refills = _whole(data.refills, "refills", 0, MAX_REFILLS) or 0
    days = _whole(data.duration_days, "duration_days", 1, MAX_DAYS)
    quantity: sig.Quantity | None = None
    if data.quantity is not None:
        raw: object = data.quantity
        if data.quantity_unit and not isinstance(raw, dict):
            raw = {"value": raw, "unit": data.quantity_unit}
        quantity = sig.quantity(raw, "quantity", unit_required=False)
    elif data.quantity_unit:
        raise InvalidInput("quantity_unit needs a quantity")
    indication = None
    if data.indication_code:
        indication = validate(
            data.indication_system or "", data.indication_code, allowed=INDICATION_SYSTEMS
        )
    return Prescription(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        patient_id=patient.id,
        medication_system=RXNORM,
        medication_code=medication.code,
        medication_display=medication.display,
        medication_tty=medication.tty,
        ingredient_codes=list(medication.ingredients),
        dose_value=dose.value,
        dose_unit=dose.unit,
        route_system=route.system,
        route_code=route.code,
        route_display=route.display,
        frequency_code=frequency.code,
        frequency_display=frequency.display,
        frequency_per_day=frequency.per_day.quantize(Decimal("0.0001"))
        if frequency.per_day is not None
        else None,
        as_needed=frequency.as_needed,
        duration_days=days,
        quantity=quantity.value if quantity else None,
        quantity_unit=quantity.unit if quantity else None,
        refills=refills,
        dispensed_quantity=Decimal(0),
        prescriber_id=_prescriber(session, tenant_id, data.prescriber_id, actor),
        encounter_id=_encounter(session, tenant_id, patient, data.encounter_id),
        indication_system=str(indication.system) if indication else None,
        indication_code=indication.code if indication else None,
        indication_display=indication.display if indication else None,
        note=clean_text(data.note, "note", 2000),
        status=S.DRAFT,
        created_by=actor.user_id,
    )


def prescribe(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    data: NewPrescription,
    actor: Actor,
    sign: bool = True,
    override_reason: str | None = None,
) -> Outcome:
    """Create a prescription: signed and active after the checks, or an unchecked draft."""
    patient = writable_patient(session, tenant_id, patient_id)
    prescription = _build(session, tenant_id, patient, data, actor)
    if not sign:
        session.add(prescription)
        session.flush()
        audit(session, actor, prescription, "prescription.create", status=S.DRAFT)
        return Outcome(prescription, [])
    # Checked before the row is added, so a refusal leaves nothing to roll back.
    with session.no_autoflush:
        stored = _sign_new(session, prescription, actor, override_reason)
    return Outcome(prescription, stored)


def _sign_new(
    session: Session, prescription: Prescription, actor: Actor, override_reason: str | None
) -> list[PrescriptionFinding]:
    try:
        session.add(prescription)
        stored = sign(session, prescription, actor, override_reason, created=True)
    except PrescriptionBlocked:
        session.expunge(prescription)
        raise
    return stored


def find_prescription(
    *, session: Session, tenant_id: uuid.UUID, prescription_id: uuid.UUID, for_update: bool = False
) -> Prescription:
    query = select(Prescription).where(
        Prescription.tenant_id == tenant_id, Prescription.id == prescription_id
    )
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    found = session.scalar(query)
    if found is None:
        raise NotFound("prescription not found")
    return found


def sign_prescription(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    prescription_id: uuid.UUID,
    actor: Actor,
    override_reason: str | None = None,
) -> Outcome:
    prescription = find_prescription(
        session=session, tenant_id=tenant_id, prescription_id=prescription_id, for_update=True
    )
    if prescription.status != S.DRAFT:
        raise Conflict(f"cannot sign a prescription that is {prescription.status}")
    writable_patient(session, tenant_id, prescription.patient_id)
    stored = sign(session, prescription, actor, override_reason)
    return Outcome(prescription, stored)


def findings_of(
    *, session: Session, tenant_id: uuid.UUID, prescription_id: uuid.UUID
) -> list[PrescriptionFinding]:
    rows = session.scalars(
        select(PrescriptionFinding)
        .where(
            PrescriptionFinding.tenant_id == tenant_id,
            PrescriptionFinding.prescription_id == prescription_id,
        )
        .order_by(PrescriptionFinding.created_at, PrescriptionFinding.id)
    )
    return sorted(rows, key=lambda f: {"critical": 0, "major": 1}.get(f.severity, 2))


def read_prescription(
    *, session: Session, tenant_id: uuid.UUID, prescription_id: uuid.UUID, actor: Actor
) -> Outcome:
    prescription = find_prescription(
        session=session, tenant_id=tenant_id, prescription_id=prescription_id
    )
    audit(session, actor, prescription, "prescription.read")
    return Outcome(
        prescription,
        findings_of(session=session, tenant_id=tenant_id, prescription_id=prescription.id),
    )
