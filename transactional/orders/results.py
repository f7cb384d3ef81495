"""Entering lab results: each checked against the ordered test, flagged, and a critical one
alerting the ordering practitioner.

A batch is all or nothing. A numeric result must come in a unit that fits its test (the
same UCUM dimension, converted through `terminology.units`); it is stored in the test's
unit. A qualitative result is a LOINC answer of its test, free text, or both. A result
for a test that already has a preliminary one on the order supersedes it; a final result
is never replaced here.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.alerts.lifecycle import NewAlert, raise_alert
from transactional.alerts.models import ClinicalAlert
from transactional.audit.trail import Actor
from transactional.base import utcnow
from transactional.cds.triggers import after_results
from transactional.errors import Conflict, InvalidInput
from transactional.orders.catalog import LabTest, catalog, lab_test
from transactional.orders.flags import CRITICAL, numeric_flag
from transactional.orders.models import LOINC, RESULT_STATUSES, LabResult, Order
from transactional.orders.ordering import audit, find_order
from transactional.terminology.catalog import validate
from transactional.terminology.systems import CodeSystem, find_system
from transactional.terminology.units import convert, validate_unit

_SCALE = Decimal("0.000001")
_LARGEST = Decimal(10) ** 12  # the columns hold 12 digits before the point
_ACTIONS = (
    "Review the result and the patient now",
    "Repeat the test if the result is unexpected",
    "Document who was notified and what was done",
)


@dataclass(frozen=True)
class ResultEntry:
    """One result as the laboratory reports it. Numeric: `value` and `unit`, optionally the
    laboratory's own reference interval (in the same unit). Qualitative: `value_code` (a
    LOINC answer code; `value_code_system` may be omitted) and/or `value_text`."""

    system: str
    code: str
    value: Decimal | None = None
    unit: str | None = None
    value_code_system: str | None = None
    value_code: str | None = None
    value_text: str | None = None
    reference_low: Decimal | None = None
    reference_high: Decimal | None = None
    interpretation: str | None = None


@dataclass(frozen=True)
class RecordedResults:
    order: Order
    results: list[LabResult]
    alerts: dict[uuid.UUID, ClinicalAlert]  # result id -> its critical alert


def _in_test_unit(value: Decimal, unit: str, test: LabTest) -> Decimal:
    if not value.is_finite():
        raise InvalidInput("a result value must be a finite number")
    unit = validate_unit(unit)
    assert test.unit is not None  # quantitative tests always have one (checked by a test)
    if unit == test.unit or unit in test.also_accepts:
        return value
    try:
        return convert(value, unit, test.unit)
    except InvalidInput:
        raise InvalidInput(
            f"unit {unit!r} does not fit LOINC {test.code}, which is measured in {test.unit}"
        ) from None


def _scaled(value: Decimal) -> Decimal:
    value = value.quantize(_SCALE, rounding=ROUND_HALF_UP)
    if abs(value) >= _LARGEST:
        raise InvalidInput("a result value must be below 10^12")
    return value


@dataclass(frozen=True)
class _Checked:
    test: LabTest
    entry: ResultEntry
    value: Decimal | None = None
    reference_low: Decimal | None = None
    reference_high: Decimal | None = None
    answer_display: str | None = None
    flag: str | None = None


def _numeric(test: LabTest, entry: ResultEntry) -> _Checked:
    if entry.value_code is not None or entry.value_text is not None:
        raise InvalidInput(f"LOINC {test.code} takes a numeric value, not a coded or text one")
    if entry.value is None or entry.unit is None:
        raise InvalidInput(f"LOINC {test.code} needs a value and a unit")
    value = _scaled(_in_test_unit(entry.value, entry.unit, test))
    low, high = test.low, test.high
    if entry.reference_low is not None or entry.reference_high is not None:
        # The laboratory's own interval, in the unit of its value, replaces the default.
        low, high = (
            None if limit is None else _scaled(_in_test_unit(limit, entry.unit, test))
            for limit in (entry.reference_low, entry.reference_high)
        )
        if low is not None and high is not None and low > high:
            raise InvalidInput("reference_range low must not be above high")
    flag = numeric_flag(
        value, low=low, high=high, critical_low=test.critical_low, critical_high=test.critical_high
    )
    return _Checked(test, entry, value=value, reference_low=low, reference_high=high, flag=flag)


def _qualitative(test: LabTest, entry: ResultEntry) -> _Checked:
    if entry.value is not None or entry.unit is not None:
        raise InvalidInput(f"LOINC {test.code} takes a coded or text value, not a number")
    if entry.reference_low is not None or entry.reference_high is not None:
        raise InvalidInput(f"LOINC {test.code} has no numeric reference range")
    if entry.value_code is None and not (entry.value_text or "").strip():
        raise InvalidInput(f"LOINC {test.code} needs value_code or value_text")
    if entry.value_code is None:
        return _Checked(test, entry)
    if (
        entry.value_code_system is not None
        and find_system(entry.value_code_system) != CodeSystem.LOINC
    ):
        raise InvalidInput("a coded result value is a LOINC answer code")
    answer = test.answers.get(entry.value_code.strip())
    if answer is None:
        raise InvalidInput(
            f"{entry.value_code.strip()[:20]!r} is not an answer of LOINC {test.code}"
        )
    flag = None if answer.abnormal is None else ("A" if answer.abnormal else "N")
    return _Checked(test, entry, answer_display=answer.display, flag=flag)


def _check(ordered: LabTest, entry: ResultEntry) -> _Checked:
    code = validate(entry.system, entry.code, allowed=(LOINC,)).code
    if not ordered.accepts(code):
        raise InvalidInput(f"LOINC {code} is not part of the ordered test LOINC {ordered.code}")
    test = lab_test(code)
    if test is None or test.kind == "panel":
        raise InvalidInput(f"LOINC {code} is not a resultable test")
    checked = _qualitative(test, entry) if test.kind == "qualitative" else _numeric(test, entry)
    if entry.interpretation is not None and len(entry.interpretation) > 1000:
        raise InvalidInput("interpretation must be at most 1000 characters")
    if entry.value_text is not None and len(entry.value_text) > 2000:
        raise InvalidInput("value_text must be at most 2000 characters")
    return checked


def _resultable(order: Order) -> LabTest:
    if order.category != "laboratory":
        raise Conflict("results are entered on laboratory orders; an imaging order takes a report")
    if order.status in ("cancelled", "entered_in_error"):
        raise Conflict(f"cannot enter results on an order that is {order.status.replace('_', ' ')}")
    if order.status == "active":
        raise Conflict("collect the specimen before entering results")
    if order.result_status == "final":
        raise Conflict("the results of this order are final")
    ordered = lab_test(order.code)
    if ordered is None:
        raise Conflict(f"LOINC {order.code} is no longer in the laboratory catalog")
    return ordered


def record_results(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    entries: list[ResultEntry],
    actor: Actor,
    status: str = "final",
) -> RecordedResults:
    """Store a batch of results of one order, flag each one, and alert on critical ones."""
    if not entries:
        raise InvalidInput("no results given")
    if status not in RESULT_STATUSES:
        raise InvalidInput(f"status must be one of: {', '.join(RESULT_STATUSES)}")
    order = find_order(session=session, tenant_id=tenant_id, order_id=order_id, for_update=True)
    ordered = _resultable(order)
    checked = [_check(ordered, entry) for entry in entries]
    codes = [c.test.code for c in checked]
    if len(set(codes)) != len(codes):
        raise InvalidInput("each test may appear once per submission")
    current = {
        result.code: result
        for result in session.scalars(
            select(LabResult)
            .where(
                LabResult.tenant_id == tenant_id,
                LabResult.order_id == order.id,
                LabResult.status.in_(("preliminary", "final")),
            )
            .with_for_update()
        )
    }
    for code in codes:
        if code in current and current[code].status == "final":
            raise Conflict(f"LOINC {code} already has a final result on this order")
    now = utcnow()
    for code in codes:
        if code in current:
            current.pop(code).status = "superseded"
    session.flush()
    version = catalog().version
    created = [_result(order, c, status, now, version, actor) for c in checked]
    session.add_all(created)
    order.status = "resulted"
    order.resulted_at = now
    still_preliminary = any(r.status == "preliminary" for r in current.values())
    order.result_status = "preliminary" if status == "preliminary" or still_preliminary else "final"
    session.flush()
    alerts = {
        result.id: _critical_alert(session, order, result, actor)
        for result in created
        if result.abnormal_flag in CRITICAL
    }
    audit(
        session,
        actor,
        order,
        "result.record",
        results=len(created),
        status=status,
        critical=len(alerts),
    )
    after_results(session=session, order=order, results=created, actor=actor)
    return RecordedResults(order, created, alerts)


def _result(
    order: Order, checked: _Checked, status: str, now: datetime, version: str, actor: Actor
) -> LabResult:
    entry, test = checked.entry, checked.test
    assert order.collected_at is not None  # resultable orders have a specimen
    return LabResult(
        id=uuid.uuid4(),
        tenant_id=order.tenant_id,
        patient_id=order.patient_id,
        order_id=order.id,
        code_system=LOINC,
        code=test.code,
        display=test.display,
        status=status,
        value=checked.value,
        unit=test.unit if checked.value is not None else None,
        value_code_system=LOINC if checked.answer_display is not None else None,
        value_code=entry.value_code.strip()
        if checked.answer_display and entry.value_code
        else None,
        value_display=checked.answer_display,
        value_text=(entry.value_text or "").strip() or None,
        reference_low=checked.reference_low,
        reference_high=checked.reference_high,
        critical_low=test.critical_low if checked.value is not None else None,
        critical_high=test.critical_high if checked.value is not None else None,
        abnormal_flag=checked.flag,
        interpretation=(entry.interpretation or "").strip() or None,
        catalog_version=version,
        effective_at=order.collected_at,
        issued_at=now,
        recorded_by=actor.user_id,
    )


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _critical_alert(
    session: Session, order: Order, result: LabResult, actor: Actor
) -> ClinicalAlert:
    low = result.abnormal_flag == "LL"
    limit = result.critical_low if low else result.critical_high
    side = "below the critical low limit" if low else "above the critical high limit"
    return raise_alert(
        session=session,
        tenant_id=order.tenant_id,
        data=NewAlert(
            patient_id=order.patient_id,
            source="laboratory",
            kind="critical_result",
            severity="critical",
            title=f"Critical result: {result.display or result.code}"[:200],
            rationale=(
                f"{result.display} is {_plain(result.value)} {result.unit}, "
                f"{side} of {_plain(limit)} {result.unit}."
            ),
            subject_type="lab_result",
            subject_id=result.id,
            data={
                "order_id": str(order.id),
                "result_id": str(result.id),
                "code": {"system": LOINC, "code": result.code},
                "value": _plain(result.value),
                "unit": result.unit,
                "abnormal_flag": result.abnormal_flag,
                "critical_low": _plain(result.critical_low),
                "critical_high": _plain(result.critical_high),
                "catalog_version": result.catalog_version,
            },
            suggested_actions=_ACTIONS,
            recipient_practitioner_id=order.practitioner_id,
            rule_id="laboratory.critical_limits",
            rule_version=result.catalog_version,
        ),
        actor=actor,
    )


def latest_result(
    *, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, code: str
) -> LabResult | None:
    """The patient's most recent current result of a LOINC test (e.g. potassium, eGFR or a
    CYP2C19 phenotype), for decision support. Not audited: the caller audits its own use."""
    return session.scalar(
        select(LabResult)
        .where(
            LabResult.tenant_id == tenant_id,
            LabResult.patient_id == patient_id,
            LabResult.code == code,
            LabResult.status.in_(("preliminary", "final")),
        )
        .order_by(LabResult.effective_at.desc(), LabResult.issued_at.desc())
        .limit(1)
    )
