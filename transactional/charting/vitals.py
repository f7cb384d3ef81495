"""Vital signs in LOINC with UCUM units, checked against physiological limits.

Values are stored in one canonical unit per sign (kg, cm, Cel...), converted from what was
entered, so that analytics never has to reconcile units. BMI is never entered: it is
derived from the encounter's weight and the latest height.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.cds.triggers import after_vitals
from transactional.charting.codes import LOINC, concept
from transactional.charting.encounters import chartable_encounter
from transactional.charting.models import Observation
from transactional.errors import InvalidInput
from transactional.terminology.units import convert, validate_unit


class VitalSign(NamedTuple):
    name: str
    unit: str
    low: Decimal
    high: Decimal


SYSTOLIC, DIASTOLIC, WEIGHT, HEIGHT, BMI = "8480-6", "8462-4", "29463-7", "8302-2", "39156-5"

# Plausible for a living patient of any age, not "normal": outside is a typing error.
VITAL_SIGNS: dict[str, VitalSign] = {
    SYSTOLIC: VitalSign("systolic blood pressure", "mm[Hg]", Decimal(40), Decimal(300)),
    DIASTOLIC: VitalSign("diastolic blood pressure", "mm[Hg]", Decimal(10), Decimal(200)),
    "8867-4": VitalSign("heart rate", "/min", Decimal(20), Decimal(300)),
    "9279-1": VitalSign("respiratory rate", "/min", Decimal(2), Decimal(80)),
    "8310-5": VitalSign("body temperature", "Cel", Decimal(25), Decimal(45)),
    "59408-5": VitalSign("oxygen saturation", "%", Decimal(40), Decimal(100)),
    "2708-6": VitalSign("oxygen saturation", "%", Decimal(40), Decimal(100)),
    "3150-0": VitalSign("inhaled oxygen concentration", "%", Decimal(21), Decimal(100)),
    WEIGHT: VitalSign("body weight", "kg", Decimal("0.3"), Decimal(700)),
    HEIGHT: VitalSign("body height", "cm", Decimal(20), Decimal(272)),
}
BMI_SIGN = VitalSign("body mass index", "kg/m2", Decimal(5), Decimal(150))
_HEIGHT_STILL_VALID = timedelta(days=366)
_CLOCK_SKEW = timedelta(minutes=5)
_SCALE = Decimal("0.0001")


@dataclass(frozen=True)
class Measurement:
    system: str
    code: str
    value: Decimal
    unit: str
    effective_at: datetime | None = None


def _canonical(measurement: Measurement) -> tuple[str, Decimal]:
    concept(measurement.system, measurement.code, allowed=(LOINC,))
    if measurement.code == BMI:
        raise InvalidInput("BMI is derived from weight and height; do not enter it")
    sign = VITAL_SIGNS.get(measurement.code)
    if sign is None:
        raise InvalidInput(f"LOINC {measurement.code} is not a vital sign recorded here")
    unit = validate_unit(measurement.unit)
    value = measurement.value if unit == sign.unit else convert(measurement.value, unit, sign.unit)
    value = value.quantize(_SCALE, rounding=ROUND_HALF_UP)  # the column keeps four places
    if not sign.low <= value <= sign.high:
        raise InvalidInput(
            f"{sign.name} {value.normalize()} {sign.unit} is outside the physiological range "
            f"{sign.low} to {sign.high} {sign.unit}"
        )
    return measurement.code, value


def _latest(
    session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, code: str
) -> Observation | None:
    return session.scalar(
        select(Observation)
        .where(
            Observation.tenant_id == tenant_id,
            Observation.patient_id == patient_id,
            Observation.code == code,
            Observation.status == "final",
        )
        .order_by(Observation.effective_at.desc())
        .limit(1)
    )


def record_vitals(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    encounter_id: uuid.UUID,
    measurements: list[Measurement],
    actor: Actor,
) -> list[Observation]:
    """All or nothing: one implausible value rejects the whole set."""
    if not measurements:
        raise InvalidInput("no vital signs given")
    encounter = chartable_encounter(session=session, tenant_id=tenant_id, encounter_id=encounter_id)
    now = utcnow()
    values = dict(_canonical(m) for m in measurements)
    if len(values) != len(measurements):
        raise InvalidInput("each vital sign may appear once per submission")
    if SYSTOLIC in values and DIASTOLIC in values and values[DIASTOLIC] >= values[SYSTOLIC]:
        raise InvalidInput("diastolic pressure must be below systolic pressure")
    if (SYSTOLIC in values) != (DIASTOLIC in values):
        raise InvalidInput("blood pressure needs both systolic and diastolic values")
    created = []
    for measurement in measurements:
        when = measurement.effective_at or now
        if when > now + _CLOCK_SKEW or when < encounter.start_at - _CLOCK_SKEW:
            raise InvalidInput("vital signs must be taken during the encounter, not in the future")
        created.append(
            _observation(
                encounter.tenant_id,
                encounter.patient_id,
                encounter.id,
                measurement.code,
                values[measurement.code],
                VITAL_SIGNS[measurement.code],
                when,
                actor,
            )
        )
    session.add_all(created)
    session.flush()
    if WEIGHT in values or HEIGHT in values:
        bmi = _derive_bmi(session, encounter.tenant_id, encounter.patient_id, encounter.id, actor)
        if bmi is not None:
            created.append(bmi)
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(
            action="vitals.record",
            resource_type="encounter",
            resource_id=encounter.id,
            patient_id=encounter.patient_id,
            detail={"observations": len(created)},
        ),
    )
    after_vitals(session=session, encounter=encounter, observations=created, actor=actor)
    return created


def _observation(
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    encounter_id: uuid.UUID,
    code: str,
    value: Decimal,
    sign: VitalSign,
    when: datetime,
    actor: Actor,
    *,
    derived: bool = False,
) -> Observation:
    return Observation(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        patient_id=patient_id,
        encounter_id=encounter_id,
        category="vital-signs",
        code_system=LOINC,
        code=code,
        display=concept(LOINC, code, allowed=(LOINC,)).display,
        value=value,
        unit=sign.unit,
        effective_at=when,
        status="final",
        is_derived=derived,
        recorded_by=actor.user_id,
    )


def _derive_bmi(
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    encounter_id: uuid.UUID,
    actor: Actor,
) -> Observation | None:
    weight = _latest(session, tenant_id, patient_id, WEIGHT)
    height = _latest(session, tenant_id, patient_id, HEIGHT)
    if weight is None or height is None or weight.encounter_id != encounter_id:
        return None
    if weight.effective_at - height.effective_at > _HEIGHT_STILL_VALID:
        return None
    metres = height.value / 100
    bmi = (weight.value / (metres * metres)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if not BMI_SIGN.low <= bmi <= BMI_SIGN.high:
        raise InvalidInput(f"weight and height give an implausible BMI of {bmi}; check them")
    observation = _observation(
        tenant_id,
        patient_id,
        encounter_id,
        BMI,
        bmi,
        BMI_SIGN,
        weight.effective_at,
        actor,
        derived=True,
    )
    session.add(observation)
    session.flush()
    return observation


def vitals_of_encounter(
    *, session: Session, tenant_id: uuid.UUID, encounter_id: uuid.UUID
) -> list[Observation]:
    return list(
        session.scalars(
            select(Observation)
            .where(
                Observation.tenant_id == tenant_id,
                Observation.encounter_id == encounter_id,
                Observation.category == "vital-signs",
            )
            .order_by(Observation.effective_at, Observation.code)
        )
    )
