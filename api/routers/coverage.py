"""Payers, and the insurance coverage on a patient's record."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.deps import Principal, SessionDep, require
from api.schemas.coverage import CoverageCreate, CoverageOut, CoverageUpdate, PayerCreate, PayerOut
from transactional.identity.roles import Permission
from transactional.patients import coverage

router = APIRouter(prefix="/api/v1", tags=["coverage"])

Reader = Annotated[Principal, Depends(require(Permission.PATIENT_READ))]
Writer = Annotated[Principal, Depends(require(Permission.PATIENT_WRITE))]
PayerAdmin = Annotated[Principal, Depends(require(Permission.BILLING_WRITE))]


@router.post("/payers", response_model=PayerOut, status_code=status.HTTP_201_CREATED)
def create_payer(body: PayerCreate, principal: PayerAdmin, session: SessionDep) -> PayerOut:
    payer = coverage.create_payer(
        session=session,
        tenant_id=principal.tenant_id,
        name=body.name,
        payer_type=body.payer_type,
        external_id=body.external_id,
        actor=principal.actor,
    )
    return PayerOut.model_validate(payer)


@router.get("/payers", response_model=list[PayerOut])
def list_payers(principal: Reader, session: SessionDep) -> list[PayerOut]:
    payers = coverage.list_payers(session=session, tenant_id=principal.tenant_id)
    return [PayerOut.model_validate(payer) for payer in payers]


@router.post(
    "/patients/{patient_id}/coverages",
    response_model=CoverageOut,
    status_code=status.HTTP_201_CREATED,
)
def add_coverage(
    patient_id: uuid.UUID, body: CoverageCreate, principal: Writer, session: SessionDep
) -> CoverageOut:
    created = coverage.add_coverage(
        session=session,
        tenant_id=principal.tenant_id,
        patient_id=patient_id,
        data=coverage.NewCoverage(**body.model_dump()),
        actor=principal.actor,
    )
    return CoverageOut.model_validate(created)


@router.get("/patients/{patient_id}/coverages", response_model=list[CoverageOut])
def list_coverages(
    patient_id: uuid.UUID, principal: Reader, session: SessionDep
) -> list[CoverageOut]:
    coverages = coverage.list_coverages(
        session=session, tenant_id=principal.tenant_id, patient_id=patient_id, actor=principal.actor
    )
    return [CoverageOut.model_validate(item) for item in coverages]


@router.patch("/coverages/{coverage_id}", response_model=CoverageOut)
def update_coverage(
    coverage_id: uuid.UUID, body: CoverageUpdate, principal: Writer, session: SessionDep
) -> CoverageOut:
    """End a coverage (set `period_end`) or cancel it."""
    updated = coverage.end_coverage(
        session=session,
        tenant_id=principal.tenant_id,
        coverage_id=coverage_id,
        period_end=body.period_end,
        status=body.status,
        actor=principal.actor,
    )
    return CoverageOut.model_validate(updated)
