"""Departments, locations and practitioners: managed with provider.manage, listed with
schedule.read."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.deps import Principal, SessionDep, require
from api.schemas.providers import (
    DepartmentCreate,
    DepartmentOut,
    LocationCreate,
    LocationOut,
    LocationUpdate,
    PractitionerCreate,
    PractitionerOut,
    PractitionerPage,
    PractitionerUpdate,
)
from transactional.identity.roles import Permission
from transactional.providers import directory, practitioners

router = APIRouter(prefix="/api/v1", tags=["providers"])

Reader = Annotated[Principal, Depends(require(Permission.SCHEDULE_READ))]
Manager = Annotated[Principal, Depends(require(Permission.PROVIDER_MANAGE))]


@router.post("/departments", response_model=DepartmentOut, status_code=status.HTTP_201_CREATED)
def create_department(
    body: DepartmentCreate, principal: Manager, session: SessionDep
) -> DepartmentOut:
    department = directory.create_department(
        session=session, tenant_id=principal.tenant_id, name=body.name, actor=principal.actor
    )
    return DepartmentOut.model_validate(department)


@router.get("/departments", response_model=list[DepartmentOut])
def list_departments(principal: Reader, session: SessionDep) -> list[DepartmentOut]:
    found = directory.list_departments(session=session, tenant_id=principal.tenant_id)
    return [DepartmentOut.model_validate(department) for department in found]


@router.post("/locations", response_model=LocationOut, status_code=status.HTTP_201_CREATED)
def create_location(body: LocationCreate, principal: Manager, session: SessionDep) -> LocationOut:
    location = directory.create_location(
        session=session,
        tenant_id=principal.tenant_id,
        name=body.name,
        time_zone=body.time_zone,
        actor=principal.actor,
    )
    return LocationOut.model_validate(location)


@router.get("/locations", response_model=list[LocationOut])
def list_locations(
    principal: Reader, session: SessionDep, include_inactive: bool = False
) -> list[LocationOut]:
    found = directory.list_locations(
        session=session, tenant_id=principal.tenant_id, include_inactive=include_inactive
    )
    return [LocationOut.model_validate(location) for location in found]


@router.patch("/locations/{location_id}", response_model=LocationOut)
def update_location(
    location_id: uuid.UUID, body: LocationUpdate, principal: Manager, session: SessionDep
) -> LocationOut:
    location = directory.update_location(
        session=session,
        tenant_id=principal.tenant_id,
        location_id=location_id,
        changes=body.model_dump(exclude_unset=True),
        actor=principal.actor,
    )
    return LocationOut.model_validate(location)


@router.post("/practitioners", response_model=PractitionerOut, status_code=status.HTTP_201_CREATED)
def create_practitioner(
    body: PractitionerCreate, principal: Manager, session: SessionDep
) -> PractitionerOut:
    practitioner = practitioners.create_practitioner(
        session=session,
        tenant_id=principal.tenant_id,
        data=practitioners.NewPractitioner(**body.model_dump()),
        actor=principal.actor,
    )
    return PractitionerOut.model_validate(practitioner)


@router.get("/practitioners", response_model=PractitionerPage)
def list_practitioners(
    principal: Reader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        uuid.UUID | None, Query(description="next_cursor of the previous page")
    ] = None,
    department_id: uuid.UUID | None = None,
    include_inactive: bool = False,
) -> PractitionerPage:
    page = practitioners.list_practitioners(
        session=session,
        tenant_id=principal.tenant_id,
        limit=limit + 1,
        after_id=cursor,
        department_id=department_id,
        include_inactive=include_inactive,
    )
    more = len(page) > limit
    page = page[:limit]
    return PractitionerPage(
        items=[PractitionerOut.model_validate(practitioner) for practitioner in page],
        next_cursor=page[-1].id if more else None,
    )


@router.get("/practitioners/{practitioner_id}", response_model=PractitionerOut)
def get_practitioner(
    practitioner_id: uuid.UUID, principal: Reader, session: SessionDep
) -> PractitionerOut:
    practitioner = practitioners.get_practitioner(
        session=session, tenant_id=principal.tenant_id, practitioner_id=practitioner_id
    )
    return PractitionerOut.model_validate(practitioner)


@router.patch("/practitioners/{practitioner_id}", response_model=PractitionerOut)
def update_practitioner(
    practitioner_id: uuid.UUID, body: PractitionerUpdate, principal: Manager, session: SessionDep
) -> PractitionerOut:
    practitioner = practitioners.update_practitioner(
        session=session,
        tenant_id=principal.tenant_id,
        practitioner_id=practitioner_id,
        changes=body.model_dump(exclude_unset=True),
        actor=principal.actor,
    )
    return PractitionerOut.model_validate(practitioner)
