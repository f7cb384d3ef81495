"""Fee schedules, charge capture from finished encounters, charges and invoices.

Billing staff write (billing.write); reads need billing.read. Every read and write of a
patient's financial records is audited with the patient's id.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from api.deps import Principal, SessionDep, require
from api.schemas.billing import (
    CaptureIn,
    CaptureOut,
    ChargeOut,
    FeeScheduleCreate,
    FeeScheduleEnd,
    FeeScheduleOut,
    InvoiceOut,
    VoidIn,
)
from transactional.billing import capture, fee_schedules, invoices
from transactional.billing.models import FeeSchedule
from transactional.identity.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["billing"])

Reader = Annotated[Principal, Depends(require(Permission.BILLING_READ))]
Writer = Annotated[Principal, Depends(require(Permission.BILLING_WRITE))]


def _schedule_out(session: SessionDep, schedule: FeeSchedule) -> FeeScheduleOut:
    fees = fee_schedules.fees_of(
        session=session, tenant_id=schedule.tenant_id, fee_schedule_id=schedule.id
    )
    return FeeScheduleOut.of(schedule, fees)


@router.post("/fee-schedules", response_model=FeeScheduleOut, status_code=status.HTTP_201_CREATED)
def create_fee_schedule(
    body: FeeScheduleCreate, principal: Writer, session: SessionDep
) -> FeeScheduleOut:
    """Prices per CPT/HCPCS code for one payer (no `payer_id`: the default, self-pay schedule)
    over a period; one payer's periods may not overlap (409)."""
    schedule = fee_schedules.create_fee_schedule(
        session=session,
        tenant_id=principal.tenant_id,
        data=fee_schedules.NewFeeSchedule(
            name=body.name,
            payer_id=body.payer_id,
            effective_from=body.effective_from,
            effective_to=body.effective_to,
            fees=tuple(
                fee_schedules.Fee(system=f.code.system, code=f.code.code, amount_cents=f.amount)
                for f in body.fees
            ),
        ),
        actor=principal.actor,
    )
    return _schedule_out(session, schedule)


@router.get("/fee-schedules", response_model=list[FeeScheduleOut])
def list_fee_schedules(
    principal: Reader, session: SessionDep, payer_id: Annotated[uuid.UUID | None, Query()] = None
) -> list[FeeScheduleOut]:
    found = fee_schedules.list_fee_schedules(
        session=session, tenant_id=principal.tenant_id, payer_id=payer_id
    )
    return [_schedule_out(session, schedule) for schedule in found]


@router.get("/fee-schedules/{fee_schedule_id}", response_model=FeeScheduleOut)
def read_fee_schedule(
    fee_schedule_id: uuid.UUID, principal: Reader, session: SessionDep
) -> FeeScheduleOut:
    schedule = fee_schedules.find_fee_schedule(
        session=session, tenant_id=principal.tenant_id, fee_schedule_id=fee_schedule_id
    )
    return _schedule_out(session, schedule)


@router.post("/fee-schedules/{fee_schedule_id}/end", response_model=FeeScheduleOut)
def end_fee_schedule(
    fee_schedule_id: uuid.UUID, body: FeeScheduleEnd, principal: Writer, session: SessionDep
) -> FeeScheduleOut:
    """Shorten the period so a new schedule can follow; captured charges keep their price."""
    schedule = fee_schedules.end_fee_schedule(
        session=session,
        tenant_id=principal.tenant_id,
        fee_schedule_id=fee_schedule_id,
        effective_to=body.effective_to,
        actor=principal.actor,
    )
    return _schedule_out(session, schedule)


@router.post(
    "/encounters/{encounter_id}/charges",
    response_model=CaptureOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "Nothing new to charge; the invoice as it is"}},
)
def capture_charges(
    encounter_id: uuid.UUID,
    principal: Writer,
    session: SessionDep,
    response: Response,
    body: CaptureIn | None = None,
) -> CaptureOut:
    """Charge a finished encounter's CPT/HCPCS procedures onto its invoice (created on first
    capture). Capturing again charges only procedures charted since (200 if none)."""
    captured = capture.capture_charges(
        session=session,
        tenant_id=principal.tenant_id,
        encounter_id=encounter_id,
        actor=principal.actor,
        pointers=[
            capture.DiagnosisPointers(p.procedure_id, tuple(p.diagnosis_ranks))
            for p in (body.diagnosis_pointers if body else [])
        ],
    )
    if not captured.created:
        response.status_code = status.HTTP_200_OK
    view = invoices.views_of(session, principal.tenant_id, [captured.invoice])[0]
    return CaptureOut(
        invoice=InvoiceOut.of(view),
        created_charge_ids=[charge.id for charge in captured.created],
        not_billable_procedure_ids=captured.not_billable,
    )


@router.post("/charges/{charge_id}/void", response_model=ChargeOut)
def void_charge(
    charge_id: uuid.UUID, body: VoidIn, principal: Writer, session: SessionDep
) -> ChargeOut:
    """Void a wrong charge (it stays on the invoice, void) before it is claimed or paid."""
    charge = capture.void_charge(
        session=session,
        tenant_id=principal.tenant_id,
        charge_id=charge_id,
        reason=body.reason,
        actor=principal.actor,
    )
    return ChargeOut.of(charge)


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
def read_invoice(invoice_id: uuid.UUID, principal: Reader, session: SessionDep) -> InvoiceOut:
    view = invoices.read_invoice(
        session=session, tenant_id=principal.tenant_id, invoice_id=invoice_id, actor=principal.actor
    )
    return InvoiceOut.of(view)


@router.post("/invoices/{invoice_id}/void", response_model=InvoiceOut)
def void_invoice(
    invoice_id: uuid.UUID, body: VoidIn, principal: Writer, session: SessionDep
) -> InvoiceOut:
    """Refused once money was posted or a claim is with the payer (409)."""
    view = invoices.void_invoice(
        session=session,
        tenant_id=principal.tenant_id,
        invoice_id=invoice_id,
        reason=body.reason,
        actor=principal.actor,
    )
    return InvoiceOut.of(view)
