"""Diagnoses of an encounter and the patient's problem list, in ICD-10-CM or SNOMED CT."""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.charting.codes import DIAGNOSIS_SYSTEMS, ICD10CM, concept
from transactional.charting.encounters import chartable_encounter
from transactional.charting.models import CLINICAL_STATUSES, VERIFICATION_STATUSES, Condition
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.patients.models import Patient
from transactional.patients.registry import find_patient, writable_patient


@dataclass(frozen=True)
class NewCondition:
    system: str
    code: str
    onset_date: date | None = None
    clinical_status: str = "active"
    verification_status: str = "confirmed"
    rank: int | None = None


def _audit(session: Session, actor: Actor, condition: Condition, action: str) -> None:
    record(
        session=session,
        tenant_id=condition.tenant_id,
        actor=actor,
        entry=AuditEntry(
            action=action,
            resource_type="condition",
            resource_id=condition.id,
            patient_id=condition.patient_id,
            detail={"category": condition.category},
        ),
    )


def _checked(patient: Patient, data: NewCondition, *, billable: bool) -> Condition:
    found = concept(data.system, data.code, allowed=DIAGNOSIS_SYSTEMS)
    if billable and found.system == ICD10CM and found.billable is False:
        raise InvalidInput(
            f"ICD-10-CM {found.code} is a category; an encounter diagnosis needs a billable code"
        )
    if data.clinical_status not in CLINICAL_STATUSES:
        raise InvalidInput(f"clinical_status must be one of: {', '.join(CLINICAL_STATUSES)}")
    if data.verification_status not in VERIFICATION_STATUSES:
        raise InvalidInput(
            f"verification_status must be one of: {', '.join(VERIFICATION_STATUSES)}"
        )
    if data.onset_date is not None:
        if data.onset_date > utcnow().date():
            raise InvalidInput("onset_date cannot be in the future")
        if data.onset_date < patient.birth_date:
            raise InvalidInput("onset_date cannot be before the patient's birth date")
    if data.rank is not None and not 1 <= data.rank <= 12:
        raise InvalidInput("rank must be between 1 (principal) and 12")
    return Condition(
        id=uuid.uuid4(),
        tenant_id=patient.tenant_id,
        patient_id=patient.id,
        code_system=found.system,
        code=found.code,
        display=found.display,
        clinical_status=data.clinical_status,
        verification_status=data.verification_status,
        onset_date=data.onset_date,
        rank=data.rank,
    )


def add_diagnosis(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    encounter_id: uuid.UUID,
    data: NewCondition,
    actor: Actor,
) -> Condition:
    encounter = chartable_encounter(session=session, tenant_id=tenant_id, encounter_id=encounter_id)
    patient = writable_patient(session, tenant_id, encounter.patient_id)
    condition = _checked(patient, data, billable=True)
    condition.category, condition.encounter_id = "encounter_diagnosis", encounter.id
    condition.recorded_by = actor.user_id
    duplicate = session.scalar(
        select(Condition.id).where(
            Condition.tenant_id == tenant_id,
            Condition.encounter_id == encounter.id,
            Condition.code_system == condition.code_system,
            Condition.code == condition.code,
        )
    )
    if duplicate is not None:
        raise Conflict("this diagnosis is already recorded for the encounter")
    session.add(condition)
    session.flush()
    _audit(session, actor, condition, "diagnosis.add")
    return condition


def add_problem(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    data: NewCondition,
    actor: Actor,
) -> Condition:
    patient = writable_patient(session, tenant_id, patient_id)
    condition = _checked(patient, data, billable=False)
    condition.category = "problem_list_item"
    condition.recorded_by = actor.user_id
    session.add(condition)
    session.flush()
    _audit(session, actor, condition, "problem.add")
    return condition


def update_problem(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    condition_id: uuid.UUID,
    clinical_status: str,
    abatement_date: date | None,
    actor: Actor,
) -> Condition:
    condition = session.scalar(
        select(Condition).where(Condition.tenant_id == tenant_id, Condition.id == condition_id)
    )
    if condition is None:
        raise NotFound("condition not found")
    if clinical_status not in CLINICAL_STATUSES:
        raise InvalidInput(f"clinical_status must be one of: {', '.join(CLINICAL_STATUSES)}")
    if abatement_date is not None:
        if abatement_date > utcnow().date():
            raise InvalidInput("abatement_date cannot be in the future")
        if condition.onset_date is not None and abatement_date < condition.onset_date:
            raise InvalidInput("abatement_date cannot be before onset_date")
    condition.clinical_status = clinical_status
    condition.abatement_date = abatement_date
    session.flush()
    _audit(session, actor, condition, "condition.update")
    return condition


def conditions_of(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID | None = None,
    encounter_id: uuid.UUID | None = None,
    category: str | None = None,
) -> list[Condition]:
    query = select(Condition).where(Condition.tenant_id == tenant_id)
    if patient_id is not None:
        query = query.where(Condition.patient_id == patient_id)
    if encounter_id is not None:
        query = query.where(Condition.encounter_id == encounter_id)
    if category is not None:
        query = query.where(Condition.category == category)
    return list(session.scalars(query.order_by(Condition.rank.nulls_last(), Condition.created_at)))


def problem_list(
    *, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, actor: Actor
) -> list[Condition]:
    patient = find_patient(session=session, tenant_id=tenant_id, patient_id=patient_id)
    problems = conditions_of(
        session=session, tenant_id=tenant_id, patient_id=patient.id, category="problem_list_item"
    )
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(action="problem.list", resource_type="condition", patient_id=patient.id),
    )
    return problems
