"""Placing lab and imaging orders, reading them, and the lab's worklist."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.charting.models import Encounter
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.orders.catalog import is_orderable_imaging, lab_test
from transactional.orders.models import (
    CATEGORIES,
    CPT,
    LOINC,
    ORDER_STATUSES,
    PRIORITIES,
    ImagingReport,
    LabResult,
    Order,
)
from transactional.patients.registry import find_patient, writable_patient
from transactional.providers.models import Practitioner
from transactional.terminology.catalog import Concept, validate

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
REASON_SYSTEMS = (ICD10CM, SNOMED)
MAX_PAGE = 200


@dataclass(frozen=True)
class NewOrder:
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    category: str
    system: str
    code: str
    priority: str = "routine"
    encounter_id: uuid.UUID | None = None
    reason_system: str | None = None
    reason_code: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class WorklistFilter:
    status: str | None = None
    category: str | None = None
    priority: str | None = None
    limit: int = 50
    after: uuid.UUID | None = None


def audit(session: Session, actor: Actor, order: Order, action: str, **detail: str | int) -> None:
    record(
        session=session,
        tenant_id=order.tenant_id,
        actor=actor,
        entry=AuditEntry(
            action=action,
            resource_type="order",
            resource_id=order.id,
            patient_id=order.patient_id,
            detail={"category": order.category, "code": order.code, **detail},
        ),
    )


def _one_of(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise InvalidInput(f"{name} must be one of: {', '.join(allowed)}")


def _orderable(category: str, system: str, code: str) -> Concept:
    if category == "laboratory":
        concept = validate(system, code, allowed=(LOINC,))
        if lab_test(concept.code) is None:
            raise InvalidInput(f"LOINC {concept.code} is not an orderable laboratory test")
        return concept
    concept = validate(system, code, allowed=(LOINC, CPT))
    if not is_orderable_imaging(concept.system, concept.code):
        raise InvalidInput(
            f"{concept.system.short_name} {concept.code} is not an orderable imaging procedure"
        )
    return concept


def _reason(data: NewOrder) -> Concept | None:
    if (data.reason_system is None) != (data.reason_code is None):
        raise InvalidInput("a reason needs both a system and a code")
    if data.reason_system is None or data.reason_code is None:
        return None
    return validate(data.reason_system, data.reason_code, allowed=REASON_SYSTEMS)


def _check_links(
    session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, data: NewOrder
) -> None:
    active = session.scalar(
        select(Practitioner.is_active).where(
            Practitioner.tenant_id == tenant_id, Practitioner.id == data.practitioner_id
        )
    )
    if not active:
        raise InvalidInput("practitioner_id does not name an active practitioner of this tenant")
    if data.encounter_id is None:
        return
    encounter = session.scalar(
        select(Encounter).where(Encounter.tenant_id == tenant_id, Encounter.id == data.encounter_id)
    )
    if encounter is None or encounter.patient_id != patient_id:
        raise InvalidInput("encounter_id does not name an encounter of this patient")
    if encounter.status in ("cancelled", "entered_in_error"):
        raise Conflict(f"cannot order on an encounter that is {encounter.status}")


def place_order(*, session: Session, tenant_id: uuid.UUID, data: NewOrder, actor: Actor) -> Order:
    """A new active order. The ordering practitioner receives its critical-result alerts."""
    _one_of("category", data.category, CATEGORIES)
    _one_of("priority", data.priority, PRIORITIES)
    patient = writable_patient(session, tenant_id, data.patient_id)
    concept = _orderable(data.category, data.system, data.code)
    reason = _reason(data)
    note = data.note.strip() if data.note else None
    if note is not None and len(note) > 1000:
        raise InvalidInput("note must be at most 1000 characters")
    _check_links(session, tenant_id, patient.id, data)
    order = Order(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        patient_id=patient.id,
        encounter_id=data.encounter_id,
        practitioner_id=data.practitioner_id,
        category=data.category,
        code_system=str(concept.system),
        code=concept.code,
        display=concept.display,
        priority=data.priority,
        reason_system=str(reason.system) if reason else None,
        reason_code=reason.code if reason else None,
        reason_display=reason.display if reason else None,
        note=note or None,
        status="active",
        ordered_at=utcnow(),
        ordered_by=actor.user_id,
    )
    session.add(order)
    session.flush()
    audit(session, actor, order, "order.create", priority=order.priority)
    return order


def find_order(
    *, session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID, for_update: bool = False
) -> Order:
    """The order, optionally row-locked so that concurrent workflow steps queue behind
    each other and each sees the status the previous one left."""
    query = select(Order).where(Order.tenant_id == tenant_id, Order.id == order_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    order = session.scalar(query)
    if order is None:
        raise NotFound("order not found")
    return order


def read_order(
    *, session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID, actor: Actor
) -> Order:
    order = find_order(session=session, tenant_id=tenant_id, order_id=order_id)
    audit(session, actor, order, "order.read")
    return order


def results_of_order(
    *, session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> list[LabResult]:
    """Every result version of the order, current and superseded, oldest first."""
    return list(
        session.scalars(
            select(LabResult)
            .where(LabResult.tenant_id == tenant_id, LabResult.order_id == order_id)
            .order_by(LabResult.issued_at, LabResult.code)
        )
    )


def report_versions(
    *, session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> list[ImagingReport]:
    return list(
        session.scalars(
            select(ImagingReport)
            .where(ImagingReport.tenant_id == tenant_id, ImagingReport.order_id == order_id)
            .order_by(ImagingReport.version)
        )
    )


def list_patient_orders(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    actor: Actor,
    category: str | None = None,
    status: str | None = None,
) -> list[Order]:
    _one_of("category", category, CATEGORIES)
    _one_of("status", status, ORDER_STATUSES)
    patient = find_patient(session=session, tenant_id=tenant_id, patient_id=patient_id)
    query = select(Order).where(Order.tenant_id == tenant_id, Order.patient_id == patient.id)
    if category is not None:
        query = query.where(Order.category == category)
    if status is not None:
        query = query.where(Order.status == status)
    found = list(session.scalars(query.order_by(Order.ordered_at.desc(), Order.id)))
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(
            action="order.list",
            resource_type="order",
            patient_id=patient.id,
            detail={"orders": len(found)},
        ),
    )
    return found


def _audit_worklist(
    session: Session, tenant_id: uuid.UUID, actor: Actor, orders: Iterable[Order]
) -> None:
    counts: dict[uuid.UUID, int] = {}
    for order in orders:
        counts[order.patient_id] = counts.get(order.patient_id, 0) + 1
    for patient_id, count in counts.items():
        record(
            session=session,
            tenant_id=tenant_id,
            actor=actor,
            entry=AuditEntry(
                action="order.worklist",
                resource_type="order",
                patient_id=patient_id,
                detail={"orders": count},
            ),
        )


def worklist(
    *, session: Session, tenant_id: uuid.UUID, filters: WorklistFilter, actor: Actor
) -> list[Order]:
    """Orders for lab and imaging staff, stat first, then oldest first; `after` is the last
    order of the previous page. Each patient on the page gets one audit event."""
    _one_of("status", filters.status, ORDER_STATUSES)
    _one_of("category", filters.category, CATEGORIES)
    _one_of("priority", filters.priority, PRIORITIES)
    if not 1 <= filters.limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    query = select(Order).where(Order.tenant_id == tenant_id)
    if filters.status is not None:
        query = query.where(Order.status == filters.status)
    if filters.category is not None:
        query = query.where(Order.category == filters.category)
    if filters.priority is not None:
        query = query.where(Order.priority == filters.priority)
    key = (Order.priority_rank, Order.ordered_at, Order.id)
    if filters.after is not None:
        last = find_order(session=session, tenant_id=tenant_id, order_id=filters.after)
        query = query.where(tuple_(*key) > tuple_(last.priority_rank, last.ordered_at, last.id))
    found = list(session.scalars(query.order_by(*key).limit(filters.limit)))
    _audit_worklist(session, tenant_id, actor, found)
    return found
