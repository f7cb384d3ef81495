"""Booking appointments and moving them through their workflow. Reads need schedule.read,
changes schedule.write; every read and change is audited with the patient's id."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from api.deps import Principal, SessionDep, require
from api.schemas.scheduling import (
    AppointmentCreate,
    AppointmentOut,
    AppointmentPage,
    CancelRequest,
    RescheduleRequest,
)
from transactional.identity.roles import Permission
from transactional.scheduling import appointments, booking
from transactional.scheduling.types import Action, AppointmentStatus

router = APIRouter(prefix="/api/v1/appointments", tags=["appointments"])

Reader = Annotated[Principal, Depends(require(Permission.SCHEDULE_READ))]
Writer = Annotated[Principal, Depends(require(Permission.SCHEDULE_WRITE))]


@router.post("", response_model=AppointmentOut, status_code=201)
def book_appointment(
    body: AppointmentCreate, principal: Writer, session: SessionDep
) -> AppointmentOut:
    appointment = booking.book(
        session=session,
        tenant_id=principal.tenant_id,
        data=booking.Booking(**body.model_dump()),
        actor=principal.actor,
    )
    return AppointmentOut.model_validate(appointment)


@router.get("", response_model=AppointmentPage)
def list_appointments(
    principal: Reader,
    session: SessionDep,
    practitioner_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    on_date: Annotated[
        date | None, Query(alias="date", description="local date at the location, YYYY-MM-DD")
    ] = None,
    status: Annotated[AppointmentStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        uuid.UUID | None, Query(description="next_cursor of the previous page")
    ] = None,
) -> AppointmentPage:
    """Ordered by start time."""
    page, next_cursor = appointments.list_appointments(
        session=session,
        tenant_id=principal.tenant_id,
        filters=appointments.AppointmentFilter(
            practitioner_id=practitioner_id, patient_id=patient_id, on_date=on_date, status=status
        ),
        limit=limit,
        after_id=cursor,
        actor=principal.actor,
    )
    return AppointmentPage(
        items=[AppointmentOut.model_validate(appointment) for appointment in page],
        next_cursor=next_cursor,
    )


@router.get("/{appointment_id}", response_model=AppointmentOut)
def get_appointment(
    appointment_id: uuid.UUID, principal: Reader, session: SessionDep
) -> AppointmentOut:
    appointment = appointments.read_appointment(
        session=session,
        tenant_id=principal.tenant_id,
        appointment_id=appointment_id,
        actor=principal.actor,
    )
    return AppointmentOut.model_validate(appointment)


@router.post("/{appointment_id}/reschedule", response_model=AppointmentOut)
def reschedule_appointment(
    appointment_id: uuid.UUID, body: RescheduleRequest, principal: Writer, session: SessionDep
) -> AppointmentOut:
    appointment = booking.reschedule(
        session=session,
        tenant_id=principal.tenant_id,
        appointment_id=appointment_id,
        new=booking.NewTime(**body.model_dump()),
        actor=principal.actor,
    )
    return AppointmentOut.model_validate(appointment)


@router.post("/{appointment_id}/cancel", response_model=AppointmentOut)
def cancel_appointment(
    appointment_id: uuid.UUID, body: CancelRequest, principal: Writer, session: SessionDep
) -> AppointmentOut:
    return _change(session, principal, appointment_id, Action.CANCEL, reason=body.reason)


@router.post("/{appointment_id}/confirm", response_model=AppointmentOut)
def confirm_appointment(
    appointment_id: uuid.UUID, principal: Writer, session: SessionDep
) -> AppointmentOut:
    return _change(session, principal, appointment_id, Action.CONFIRM)


@router.post("/{appointment_id}/check-in", response_model=AppointmentOut)
def check_in(appointment_id: uuid.UUID, principal: Writer, session: SessionDep) -> AppointmentOut:
    return _change(session, principal, appointment_id, Action.CHECK_IN)


@router.post("/{appointment_id}/start", response_model=AppointmentOut)
def start_visit(
    appointment_id: uuid.UUID, principal: Writer, session: SessionDep
) -> AppointmentOut:
    return _change(session, principal, appointment_id, Action.START)


@router.post("/{appointment_id}/complete", response_model=AppointmentOut)
def complete_visit(
    appointment_id: uuid.UUID, principal: Writer, session: SessionDep
) -> AppointmentOut:
    return _change(session, principal, appointment_id, Action.COMPLETE)


@router.post("/{appointment_id}/no-show", response_model=AppointmentOut)
def mark_no_show(
    appointment_id: uuid.UUID, principal: Writer, session: SessionDep
) -> AppointmentOut:
    return _change(session, principal, appointment_id, Action.NO_SHOW)


def _change(
    session: Session,
    principal: Principal,
    appointment_id: uuid.UUID,
    action: Action,
    reason: str | None = None,
) -> AppointmentOut:
    appointment = appointments.change_status(
        session=session,
        tenant_id=principal.tenant_id,
        appointment_id=appointment_id,
        action=action,
        actor=principal.actor,
        reason=reason,
    )
    return AppointmentOut.model_validate(appointment)
