"""Lab and imaging orders: ordering, the worklist, specimens, results and imaging reports."""

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy.orm import Session

from api.deps import Principal, SessionDep, require
from api.schemas.coding import CodingOut
from api.schemas.orders import (
    Category,
    OrderCreate,
    OrderOut,
    OrderStatus,
    OrderSummaryOut,
    Priority,
    RangeOut,
    ReasonIn,
    RecordedResultsOut,
    ReportIn,
    ReportVersionOut,
    ResultIn,
    ResultOut,
    ResultsIn,
    SpecimenIn,
    SpecimenOut,
)
from transactional.identity.roles import Permission
from transactional.orders import ordering, reports, results, workflow
from transactional.orders.models import LabResult, Order

router = APIRouter(prefix="/api/v1", tags=["orders"])

Reader = Annotated[Principal, Depends(require(Permission.ORDER_READ))]
Orderer = Annotated[Principal, Depends(require(Permission.ORDER_WRITE))]
Collector = Annotated[Principal, Depends(require(Permission.SPECIMEN_COLLECT))]
ResultWriter = Annotated[Principal, Depends(require(Permission.RESULT_WRITE))]
# Imaging reports are written and signed by physicians, who alone may sign clinical notes.
ReportSigner = Annotated[Principal, Depends(require(Permission.NOTE_SIGN))]


def _plain(value: Decimal | None) -> Decimal | None:
    """5.900000 from the column is 5.9 on the wire."""
    return None if value is None else Decimal(format(value.normalize(), "f"))


def _range(low: Decimal | None, high: Decimal | None) -> RangeOut | None:
    if low is None and high is None:
        return None
    return RangeOut.model_validate({"low": _plain(low), "high": _plain(high)})


def result_out(row: LabResult, alert_id: uuid.UUID | None = None) -> ResultOut:
    return ResultOut.model_validate(
        {
            "id": row.id,
            "order_id": row.order_id,
            "code": CodingOut(system=row.code_system, code=row.code, display=row.display),
            "status": row.status,
            "value": _plain(row.value),
            "unit": row.unit,
            "value_code": (
                CodingOut(
                    system=row.value_code_system, code=row.value_code, display=row.value_display
                )
                if row.value_code is not None and row.value_code_system is not None
                else None
            ),
            "value_text": row.value_text,
            "reference_range": _range(row.reference_low, row.reference_high),
            "critical_range": _range(row.critical_low, row.critical_high),
            "abnormal_flag": row.abnormal_flag,
            "interpretation": row.interpretation,
            "effective_at": row.effective_at,
            "issued_at": row.issued_at,
            "alert_id": alert_id,
        }
    )


def _summary(row: Order) -> dict[str, object]:
    return {
        "id": row.id,
        "patient_id": row.patient_id,
        "encounter_id": row.encounter_id,
        "practitioner_id": row.practitioner_id,
        "category": row.category,
        "code": CodingOut(system=row.code_system, code=row.code, display=row.display),
        "priority": row.priority,
        "reason": (
            CodingOut(system=row.reason_system, code=row.reason_code, display=row.reason_display)
            if row.reason_system is not None and row.reason_code is not None
            else None
        ),
        "note": row.note,
        "status": row.status,
        "result_status": row.result_status,
        "ordered_at": row.ordered_at,
        "ordered_by": row.ordered_by,
        "specimen": (
            SpecimenOut(
                specimen_type=row.specimen_type,
                collected_at=row.collected_at,
                collected_by=row.collected_by,
            )
            if row.specimen_type is not None and row.collected_at is not None
            else None
        ),
        "resulted_at": row.resulted_at,
        "closed_at": row.closed_at,
        "closed_reason": row.closed_reason,
    }


def summary_out(row: Order) -> OrderSummaryOut:
    return OrderSummaryOut.model_validate(_summary(row))


def order_out(row: Order, session: Session) -> OrderOut:
    found = ordering.results_of_order(session=session, tenant_id=row.tenant_id, order_id=row.id)
    versions = ordering.report_versions(session=session, tenant_id=row.tenant_id, order_id=row.id)
    return OrderOut.model_validate(
        _summary(row)
        | {
            "results": [result_out(r) for r in found],
            "report": [ReportVersionOut.model_validate(v) for v in versions],
        }
    )


@router.post("/orders", response_model=OrderOut, status_code=status.HTTP_201_CREATED)
def place_order(body: OrderCreate, principal: Orderer, session: SessionDep) -> OrderOut:
    order = ordering.place_order(
        session=session,
        tenant_id=principal.tenant_id,
        data=ordering.NewOrder(
            patient_id=body.patient_id,
            practitioner_id=body.practitioner_id,
            encounter_id=body.encounter_id,
            category=body.category,
            system=body.code.system,
            code=body.code.code,
            priority=body.priority,
            reason_system=body.reason.system if body.reason else None,
            reason_code=body.reason.code if body.reason else None,
            note=body.note,
        ),
        actor=principal.actor,
    )
    return order_out(order, session)


@router.get("/orders", response_model=list[OrderSummaryOut])
def worklist(
    principal: Reader,
    session: SessionDep,
    order_status: Annotated[OrderStatus | None, Query(alias="status")] = None,
    category: Category | None = None,
    priority: Priority | None = None,
    limit: Annotated[int, Query(ge=1, le=ordering.MAX_PAGE)] = 50,
    after: uuid.UUID | None = None,
) -> list[OrderSummaryOut]:
    """Stat first, then oldest first; pass the last id as `after` for the next page."""
    found = ordering.worklist(
        session=session,
        tenant_id=principal.tenant_id,
        filters=ordering.WorklistFilter(
            status=order_status, category=category, priority=priority, limit=limit, after=after
        ),
        actor=principal.actor,
    )
    return [summary_out(o) for o in found]


@router.get("/orders/{order_id}", response_model=OrderOut)
def read_order(order_id: uuid.UUID, principal: Reader, session: SessionDep) -> OrderOut:
    order = ordering.read_order(
        session=session, tenant_id=principal.tenant_id, order_id=order_id, actor=principal.actor
    )
    return order_out(order, session)


@router.get("/patients/{patient_id}/orders", response_model=list[OrderSummaryOut])
def patient_orders(
    patient_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    order_status: Annotated[OrderStatus | None, Query(alias="status")] = None,
    category: Category | None = None,
) -> list[OrderSummaryOut]:
    found = ordering.list_patient_orders(
        session=session,
        tenant_id=principal.tenant_id,
        patient_id=patient_id,
        category=category,
        status=order_status,
        actor=principal.actor,
    )
    return [summary_out(o) for o in found]


@router.post("/orders/{order_id}/specimen", response_model=OrderOut)
def collect_specimen(
    order_id: uuid.UUID, body: SpecimenIn, principal: Collector, session: SessionDep
) -> OrderOut:
    order = workflow.collect_specimen(
        session=session,
        tenant_id=principal.tenant_id,
        order_id=order_id,
        specimen_type=body.specimen_type,
        collected_at=body.collected_at,
        actor=principal.actor,
    )
    return order_out(order, session)


@router.post("/orders/{order_id}/cancel", response_model=OrderOut)
def cancel_order(
    order_id: uuid.UUID, body: ReasonIn, principal: Orderer, session: SessionDep
) -> OrderOut:
    order = workflow.cancel_order(
        session=session,
        tenant_id=principal.tenant_id,
        order_id=order_id,
        reason=body.reason,
        actor=principal.actor,
    )
    return order_out(order, session)


@router.post("/orders/{order_id}/enter-in-error", response_model=OrderOut)
def enter_in_error(
    order_id: uuid.UUID, body: ReasonIn, principal: Orderer, session: SessionDep
) -> OrderOut:
    """The order and its results were never valid; open alerts on its results close."""
    order = workflow.enter_in_error(
        session=session,
        tenant_id=principal.tenant_id,
        order_id=order_id,
        reason=body.reason,
        actor=principal.actor,
    )
    return order_out(order, session)


def _entry(item: ResultIn) -> results.ResultEntry:
    code = item.value_code
    return results.ResultEntry(
        system=item.code.system,
        code=item.code.code,
        value=item.value,
        unit=item.unit,
        value_code_system=None if code is None or isinstance(code, str) else code.system,
        value_code=code if code is None or isinstance(code, str) else code.code,
        value_text=item.value_text,
        reference_low=item.reference_range.low if item.reference_range else None,
        reference_high=item.reference_range.high if item.reference_range else None,
        interpretation=item.interpretation,
    )


@router.post(
    "/orders/{order_id}/results",
    response_model=RecordedResultsOut,
    status_code=status.HTTP_201_CREATED,
)
def record_results(
    order_id: uuid.UUID, body: ResultsIn, principal: ResultWriter, session: SessionDep
) -> RecordedResultsOut:
    """All or nothing. Each result comes back with its abnormal flag; a critical one (LL/HH)
    has raised an alert for the ordering practitioner."""
    recorded = results.record_results(
        session=session,
        tenant_id=principal.tenant_id,
        order_id=order_id,
        entries=[_entry(item) for item in body.results],
        status=body.status,
        actor=principal.actor,
    )
    alerts = recorded.alerts
    return RecordedResultsOut.model_validate(
        {
            "order_id": recorded.order.id,
            "order_status": recorded.order.status,
            "result_status": recorded.order.result_status,
            "results": [
                result_out(r, alerts[r.id].id if r.id in alerts else None) for r in recorded.results
            ],
        }
    )


@router.post("/orders/{order_id}/report", response_model=OrderOut)
def write_report(
    order_id: uuid.UUID,
    body: ReportIn,
    principal: ReportSigner,
    session: SessionDep,
    response: Response,
) -> OrderOut:
    """Draft or sign the report (201 for a new version, 200 for an edited draft); once final,
    only a correction or an addendum with a reason."""
    written = reports.write_report(
        session=session,
        tenant_id=principal.tenant_id,
        order_id=order_id,
        data=reports.ReportText(
            text=body.text, status=body.status, kind=body.kind, reason=body.reason
        ),
        actor=principal.actor,
    )
    response.status_code = status.HTTP_201_CREATED if written.created else status.HTTP_200_OK
    return order_out(written.order, session)
