"""Imaging reports: drafted, signed final by a physician, then never changed.

A final version is immutable here and in the database (a trigger refuses to update or
delete it). A change after signing is a new version with a reason: a *correction* replaces
the report's text, an *addendum* adds to it. The first final version results the order.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from transactional.audit.trail import Actor
from transactional.base import utcnow
from transactional.errors import Conflict, InvalidInput
from transactional.orders.models import REPORT_KINDS, REPORT_STATUSES, ImagingReport, Order
from transactional.orders.ordering import audit, find_order, report_versions

MAX_TEXT = 100_000
REVISIONS = tuple(kind for kind in REPORT_KINDS if kind != "original")


@dataclass(frozen=True)
class ReportText:
    text: str
    status: str = "draft"
    kind: str | None = None  # correction or addendum, only once a version is final
    reason: str | None = None


@dataclass(frozen=True)
class ReportWrite:
    order: Order
    report: ImagingReport
    created: bool


def _check(data: ReportText, actor: Actor) -> tuple[str, str | None]:
    if actor.user_id is None:
        raise InvalidInput("reports are written by a signed-in user")
    text = data.text.strip()
    if not text or len(text) > MAX_TEXT:
        raise InvalidInput(f"report text must be 1 to {MAX_TEXT} characters")
    if data.status not in REPORT_STATUSES:
        raise InvalidInput(f"status must be one of: {', '.join(REPORT_STATUSES)}")
    if data.kind is not None and data.kind not in REVISIONS:
        raise InvalidInput(f"kind must be one of: {', '.join(REVISIONS)}")
    reason = (data.reason or "").strip() or None
    if data.kind is not None and reason is None:
        raise InvalidInput(f"a report {data.kind} needs a reason")
    if reason is not None and len(reason) > 500:
        raise InvalidInput("the reason must be at most 500 characters")
    return text, reason


def _reportable(session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID) -> Order:
    order = find_order(session=session, tenant_id=tenant_id, order_id=order_id, for_update=True)
    if order.category != "imaging":
        raise Conflict("reports are written on imaging orders; a laboratory order takes results")
    if order.status in ("cancelled", "entered_in_error"):
        raise Conflict(f"cannot report on an order that is {order.status.replace('_', ' ')}")
    return order


def write_report(
    *, session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID, data: ReportText, actor: Actor
) -> ReportWrite:
    """Start, edit or sign the report; or, once final, add a correction or an addendum."""
    text, reason = _check(data, actor)
    order = _reportable(session, tenant_id, order_id)
    versions = report_versions(session=session, tenant_id=tenant_id, order_id=order.id)
    latest = versions[-1] if versions else None
    if latest is not None and latest.status == "draft":
        if data.kind is not None and data.kind != latest.kind:
            raise Conflict(f"the report has an unsigned {latest.kind} draft; finish it first")
        latest.text = text
        if latest.kind != "original":
            latest.reason = reason
        report, created = latest, False
    else:
        if latest is None and data.kind is not None:
            raise Conflict(f"there is no final report to add a {data.kind} to")
        if latest is not None and data.kind is None:
            raise Conflict(
                "a final report cannot be changed; send a correction or an addendum with a reason"
            )
        report = ImagingReport(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            patient_id=order.patient_id,
            order_id=order.id,
            version=1 if latest is None else latest.version + 1,
            kind=data.kind or "original",
            status="draft",
            text=text,
            reason=reason,
            author_id=actor.user_id,
        )
        session.add(report)
        created = True
    if data.status == "final":
        _sign(order, report, actor)
    session.flush()
    action = "report.sign" if data.status == "final" else "report.draft"
    audit(session, actor, order, action, version=report.version, kind=report.kind)
    return ReportWrite(order, report, created)


def _sign(order: Order, report: ImagingReport, actor: Actor) -> None:
    now = utcnow()
    report.status = "final"
    report.signed_at = now
    report.signed_by = actor.user_id
    if order.status == "active":
        order.status = "resulted"
        order.result_status = "final"
        order.resulted_at = now
