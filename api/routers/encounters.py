"""Encounters and what is charted in them: vitals, diagnoses, procedures, the whole chart."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.deps import Principal, SessionDep, require
from api.schemas.charting import (
    ChartOut,
    ConditionIn,
    ConditionOut,
    ConditionUpdate,
    Discharge,
    EncounterCreate,
    EncounterOut,
    NoteVersionOut,
    ObservationOut,
    ProcedureIn,
    ProcedureOut,
    VitalsIn,
)
from api.schemas.coding import CodingOut
from transactional.charting import conditions, encounters, notes, procedures, vitals
from transactional.charting.models import Condition, Observation, Procedure
from transactional.identity.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["encounters"])

Reader = Annotated[Principal, Depends(require(Permission.CHART_READ))]
Writer = Annotated[Principal, Depends(require(Permission.CHART_WRITE))]


def observation_out(row: Observation) -> ObservationOut:
    return ObservationOut(
        id=row.id,
        code=CodingOut(system=row.code_system, code=row.code, display=row.display),
        value=row.value,
        unit=row.unit,
        effective_at=row.effective_at,
        is_derived=row.is_derived,
    )


def condition_out(row: Condition) -> ConditionOut:
    return ConditionOut(
        id=row.id,
        patient_id=row.patient_id,
        encounter_id=row.encounter_id,
        category=row.category,
        code=CodingOut(system=row.code_system, code=row.code, display=row.display),
        clinical_status=row.clinical_status,
        verification_status=row.verification_status,
        onset_date=row.onset_date,
        abatement_date=row.abatement_date,
        rank=row.rank,
    )


def procedure_out(row: Procedure) -> ProcedureOut:
    return ProcedureOut(
        id=row.id,
        encounter_id=row.encounter_id,
        code=CodingOut(system=row.code_system, code=row.code, display=row.display),
        units=row.units,
        modifiers=row.modifiers.split(",") if row.modifiers else [],
        performed_at=row.performed_at,
        performer_id=row.performer_id,
    )


@router.post("/encounters", response_model=EncounterOut, status_code=status.HTTP_201_CREATED)
def open_encounter(body: EncounterCreate, principal: Writer, session: SessionDep) -> EncounterOut:
    """Start a visit; `encounter_class: inpatient` admits the patient."""
    encounter = encounters.open_encounter(
        session=session,
        tenant_id=principal.tenant_id,
        data=encounters.NewEncounter(**body.model_dump()),
        actor=principal.actor,
    )
    return EncounterOut.model_validate(encounter)


@router.get("/encounters/{encounter_id}", response_model=ChartOut)
def read_chart(encounter_id: uuid.UUID, principal: Reader, session: SessionDep) -> ChartOut:
    tenant_id = principal.tenant_id
    encounter = encounters.read_encounter(
        session=session, tenant_id=tenant_id, encounter_id=encounter_id, actor=principal.actor
    )
    return ChartOut(
        encounter=EncounterOut.model_validate(encounter),
        vitals=[
            observation_out(o)
            for o in vitals.vitals_of_encounter(
                session=session, tenant_id=tenant_id, encounter_id=encounter.id
            )
        ],
        diagnoses=[
            condition_out(c)
            for c in conditions.conditions_of(
                session=session, tenant_id=tenant_id, encounter_id=encounter.id
            )
        ],
        procedures=[
            procedure_out(p)
            for p in procedures.procedures_of_encounter(
                session=session, tenant_id=tenant_id, encounter_id=encounter.id
            )
        ],
        notes=[
            NoteVersionOut.model_validate(n)
            for n in notes.notes_of_encounter(
                session=session, tenant_id=tenant_id, encounter_id=encounter.id
            )
        ],
    )


@router.get("/patients/{patient_id}/encounters", response_model=list[EncounterOut])
def list_encounters(
    patient_id: uuid.UUID, principal: Reader, session: SessionDep
) -> list[EncounterOut]:
    found = encounters.list_encounters(
        session=session, tenant_id=principal.tenant_id, patient_id=patient_id, actor=principal.actor
    )
    return [EncounterOut.model_validate(e) for e in found]


def _transition(
    encounter_id: uuid.UUID, action: str, principal: Principal, session: SessionDep
) -> EncounterOut:
    encounter = encounters.transition(
        session=session,
        tenant_id=principal.tenant_id,
        encounter_id=encounter_id,
        action=action,
        actor=principal.actor,
    )
    return EncounterOut.model_validate(encounter)


@router.post("/encounters/{encounter_id}/finish", response_model=EncounterOut)
def finish(encounter_id: uuid.UUID, principal: Writer, session: SessionDep) -> EncounterOut:
    return _transition(encounter_id, "finish", principal, session)


@router.post("/encounters/{encounter_id}/cancel", response_model=EncounterOut)
def cancel(encounter_id: uuid.UUID, principal: Writer, session: SessionDep) -> EncounterOut:
    return _transition(encounter_id, "cancel", principal, session)


@router.post("/encounters/{encounter_id}/discharge", response_model=EncounterOut)
def discharge(
    encounter_id: uuid.UUID, body: Discharge, principal: Writer, session: SessionDep
) -> EncounterOut:
    encounter = encounters.discharge(
        session=session,
        tenant_id=principal.tenant_id,
        encounter_id=encounter_id,
        disposition=body.disposition,
        at=body.at,
        actor=principal.actor,
    )
    return EncounterOut.model_validate(encounter)


@router.post(
    "/encounters/{encounter_id}/vitals",
    response_model=list[ObservationOut],
    status_code=status.HTTP_201_CREATED,
)
def record_vitals(
    encounter_id: uuid.UUID, body: VitalsIn, principal: Writer, session: SessionDep
) -> list[ObservationOut]:
    """All or nothing; BMI is derived when weight or height is given."""
    created = vitals.record_vitals(
        session=session,
        tenant_id=principal.tenant_id,
        encounter_id=encounter_id,
        measurements=[
            vitals.Measurement(
                system=o.code.system,
                code=o.code.code,
                value=o.value,
                unit=o.unit,
                effective_at=o.effective_at,
            )
            for o in body.observations
        ],
        actor=principal.actor,
    )
    return [observation_out(o) for o in created]


@router.post(
    "/encounters/{encounter_id}/diagnoses",
    response_model=ConditionOut,
    status_code=status.HTTP_201_CREATED,
)
def add_diagnosis(
    encounter_id: uuid.UUID, body: ConditionIn, principal: Writer, session: SessionDep
) -> ConditionOut:
    condition = conditions.add_diagnosis(
        session=session,
        tenant_id=principal.tenant_id,
        encounter_id=encounter_id,
        data=conditions.NewCondition(
            system=body.code.system,
            code=body.code.code,
            onset_date=body.onset_date,
            clinical_status=body.clinical_status,
            verification_status=body.verification_status,
            rank=body.rank,
        ),
        actor=principal.actor,
    )
    return condition_out(condition)


@router.post(
    "/encounters/{encounter_id}/procedures",
    response_model=ProcedureOut,
    status_code=status.HTTP_201_CREATED,
)
def add_procedure(
    encounter_id: uuid.UUID, body: ProcedureIn, principal: Writer, session: SessionDep
) -> ProcedureOut:
    procedure = procedures.add_procedure(
        session=session,
        tenant_id=principal.tenant_id,
        encounter_id=encounter_id,
        data=procedures.NewProcedure(
            system=body.code.system,
            code=body.code.code,
            performed_at=body.performed_at,
            performer_id=body.performer_id,
            units=body.units,
            modifiers=tuple(m.upper() for m in body.modifiers),
        ),
        actor=principal.actor,
    )
    return procedure_out(procedure)


@router.get("/patients/{patient_id}/problems", response_model=list[ConditionOut])
def problem_list(
    patient_id: uuid.UUID, principal: Reader, session: SessionDep
) -> list[ConditionOut]:
    found = conditions.problem_list(
        session=session, tenant_id=principal.tenant_id, patient_id=patient_id, actor=principal.actor
    )
    return [condition_out(c) for c in found]


@router.post(
    "/patients/{patient_id}/problems",
    response_model=ConditionOut,
    status_code=status.HTTP_201_CREATED,
)
def add_problem(
    patient_id: uuid.UUID, body: ConditionIn, principal: Writer, session: SessionDep
) -> ConditionOut:
    condition = conditions.add_problem(
        session=session,
        tenant_id=principal.tenant_id,
        patient_id=patient_id,
        data=conditions.NewCondition(
            system=body.code.system,
            code=body.code.code,
            onset_date=body.onset_date,
            clinical_status=body.clinical_status,
            verification_status=body.verification_status,
        ),
        actor=principal.actor,
    )
    return condition_out(condition)


@router.patch("/conditions/{condition_id}", response_model=ConditionOut)
def update_condition(
    condition_id: uuid.UUID, body: ConditionUpdate, principal: Writer, session: SessionDep
) -> ConditionOut:
    """Resolve or re-activate a problem."""
    condition = conditions.update_problem(
        session=session,
        tenant_id=principal.tenant_id,
        condition_id=condition_id,
        clinical_status=body.clinical_status,
        abatement_date=body.abatement_date,
        actor=principal.actor,
    )
    return condition_out(condition)
