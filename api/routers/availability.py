"""A practitioner's working hours, exceptions to them, and the free slots they leave."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.deps import Principal, SessionDep, require
from api.schemas.scheduling import (
    ExceptionCreate,
    ExceptionOut,
    SlotList,
    SlotOut,
    WorkingHoursOut,
    WorkingHoursSet,
)
from transactional.base import utcnow
from transactional.identity.roles import Permission
from transactional.scheduling import working_hours
from transactional.scheduling.availability import free_slots

router = APIRouter(prefix="/api/v1/practitioners/{practitioner_id}", tags=["availability"])

Reader = Annotated[Principal, Depends(require(Permission.SCHEDULE_READ))]
Manager = Annotated[Principal, Depends(require(Permission.PROVIDER_MANAGE))]


@router.put("/working-hours", response_model=list[WorkingHoursOut])
def replace_working_hours(
    practitioner_id: uuid.UUID, body: WorkingHoursSet, principal: Manager, session: SessionDep
) -> list[WorkingHoursOut]:
    """Replace the whole weekly template; booked appointments stay where they are."""
    rows = working_hours.replace_working_hours(
        session=session,
        tenant_id=principal.tenant_id,
        practitioner_id=practitioner_id,
        hours=[working_hours.WeeklyHours(**window.model_dump()) for window in body.windows],
        actor=principal.actor,
    )
    return [WorkingHoursOut.model_validate(row) for row in rows]


@router.get("/working-hours", response_model=list[WorkingHoursOut])
def list_working_hours(
    practitioner_id: uuid.UUID, principal: Reader, session: SessionDep
) -> list[WorkingHoursOut]:
    rows = working_hours.list_working_hours(
        session=session, tenant_id=principal.tenant_id, practitioner_id=practitioner_id
    )
    return [WorkingHoursOut.model_validate(row) for row in rows]


@router.post("/exceptions", response_model=ExceptionOut, status_code=status.HTTP_201_CREATED)
def add_exception(
    practitioner_id: uuid.UUID, body: ExceptionCreate, principal: Manager, session: SessionDep
) -> ExceptionOut:
    exception = working_hours.add_exception(
        session=session,
        tenant_id=principal.tenant_id,
        practitioner_id=practitioner_id,
        data=working_hours.NewException(**body.model_dump()),
        actor=principal.actor,
    )
    return ExceptionOut.model_validate(exception)


@router.get("/exceptions", response_model=list[ExceptionOut])
def list_exceptions(
    practitioner_id: uuid.UUID, principal: Reader, session: SessionDep
) -> list[ExceptionOut]:
    rows = working_hours.list_exceptions(
        session=session, tenant_id=principal.tenant_id, practitioner_id=practitioner_id
    )
    return [ExceptionOut.model_validate(row) for row in rows]


@router.get("/slots", response_model=SlotList)
def list_free_slots(
    practitioner_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    start: Annotated[date, Query(description="first local date, YYYY-MM-DD")],
    end: Annotated[date, Query(description="last local date (inclusive), YYYY-MM-DD")],
    location_id: uuid.UUID | None = None,
) -> SlotList:
    """Free slots from now on, in UTC and in the location's local time."""
    slots = free_slots(
        session=session,
        tenant_id=principal.tenant_id,
        practitioner_id=practitioner_id,
        first_day=start,
        last_day=end,
        location_id=location_id,
        now=utcnow(),
    )
    return SlotList(
        practitioner_id=practitioner_id, items=[SlotOut.model_validate(slot) for slot in slots]
    )
