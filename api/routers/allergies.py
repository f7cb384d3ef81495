"""A patient's allergies and intolerances."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.deps import Principal, SessionDep, require
from api.schemas.allergies import AllergyCreate, AllergyOut, AllergyUpdate
from api.schemas.coding import CodingOut
from transactional.identity.roles import Permission
from transactional.patients import allergies
from transactional.patients.models import Allergy

router = APIRouter(prefix="/api/v1", tags=["allergies"])

Reader = Annotated[Principal, Depends(require(Permission.CHART_READ))]
Writer = Annotated[Principal, Depends(require(Permission.CHART_WRITE))]


def allergy_out(row: Allergy) -> AllergyOut:
    return AllergyOut(
        id=row.id,
        patient_id=row.patient_id,
        substance=CodingOut(
            system=row.substance_system, code=row.substance_code, display=row.substance_display
        ),
        category=row.category,
        severity=row.severity,
        reaction=row.reaction,
        status=row.status,
        onset_date=row.onset_date,
        created_at=row.created_at,
    )


@router.post(
    "/patients/{patient_id}/allergies",
    response_model=AllergyOut,
    status_code=status.HTTP_201_CREATED,
)
def record_allergy(
    patient_id: uuid.UUID, body: AllergyCreate, principal: Writer, session: SessionDep
) -> AllergyOut:
    allergy = allergies.record_allergy(
        session=session,
        tenant_id=principal.tenant_id,
        patient_id=patient_id,
        data=allergies.NewAllergy(
            system=body.substance.system,
            code=body.substance.code,
            severity=body.severity,
            reaction=body.reaction,
            category=body.category,
            onset_date=body.onset_date,
        ),
        actor=principal.actor,
    )
    return allergy_out(allergy)


@router.get("/patients/{patient_id}/allergies", response_model=list[AllergyOut])
def list_allergies(
    patient_id: uuid.UUID, principal: Reader, session: SessionDep
) -> list[AllergyOut]:
    found = allergies.list_allergies(
        session=session, tenant_id=principal.tenant_id, patient_id=patient_id, actor=principal.actor
    )
    return [allergy_out(a) for a in found]


@router.patch("/allergies/{allergy_id}", response_model=AllergyOut)
def update_allergy(
    allergy_id: uuid.UUID, body: AllergyUpdate, principal: Writer, session: SessionDep
) -> AllergyOut:
    allergy = allergies.change_allergy_status(
        session=session,
        tenant_id=principal.tenant_id,
        allergy_id=allergy_id,
        status=body.status,
        actor=principal.actor,
    )
    return allergy_out(allergy)
