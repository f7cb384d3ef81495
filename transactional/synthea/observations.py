"""observations.csv -> vital signs, lab results, and other numeric observations.

- Vital signs go through the vitals rules (`charting.vitals`): a known sign, a UCUM unit
  converted to the sign's own, a value within physiological limits, diastolic below systolic.
  Synthea's BMI is stored as derived (its source computed it from weight and height), within
  the BMI limits.
- Results of a test of the laboratory catalog go through the results rules
  (`orders.results`): the test's kind and unit, a flag from the catalog's intervals. Each
  hangs off an imported order, collected and resulted when Synthea recorded it. Imported
  critical results raise no alert: they are history, not news.
- Other numbers (survey scores, percentiles, measurements, tests the catalog does not list)
  are kept as observations with their LOINC code, UCUM unit and Synthea's category.
- Text answers are skipped (observations here hold numbers), unless they answer a
  qualitative test of the laboratory catalog; so are Synthea's own DALY, QALY and QOLS.
"""

import re
import uuid
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Table

from transactional.charting.models import Observation
from transactional.charting.vitals import BMI, BMI_SIGN, DIASTOLIC, SYSTOLIC, VITAL_SIGNS
from transactional.errors import DomainError
from transactional.lineage import SYNTHEA
from transactional.orders.catalog import LabTest, catalog, lab_test
from transactional.orders.flags import CRITICAL, numeric_flag
from transactional.orders.models import LabResult, Order
from transactional.synthea.batch import CLOCK_SKEW, Batch, each, key_of
from transactional.synthea.mappings import OBSERVATION_CATEGORIES
from transactional.synthea.source import (
    RowError,
    SourceRow,
    coded,
    parse_decimal,
    parse_instant,
    parse_uuid,
)
from transactional.synthea.state import EncounterRef, PatientRef
from transactional.terminology.catalog import Concept
from transactional.terminology.systems import CodeSystem
from transactional.terminology.units import convert, validate_unit

OBSERVATIONS: Table = Observation.__table__  # type: ignore[assignment]
ORDERS: Table = Order.__table__  # type: ignore[assignment]
LAB_RESULTS: Table = LabResult.__table__  # type: ignore[assignment]

COLUMNS = ("DATE", "PATIENT", "ENCOUNTER", "CATEGORY", "CODE", "VALUE", "UNITS", "TYPE")
SYNTHEA_MEASURES = frozenset({"DALY", "QALY", "QOLS"})
_LOINC = re.compile(r"^\d{1,7}-\d$")
_FOUR_PLACES = Decimal("0.0001")
_SIX_PLACES = Decimal("0.000001")
_OBSERVATION_LIMIT = Decimal(10) ** 8  # NUMERIC(12, 4)
_RESULT_LIMIT = Decimal(10) ** 12  # NUMERIC(18, 6)
SKIP_MEASURES = "Synthea's own measures (DALY, QALY, QOLS) are not clinical observations"
SKIP_TEXT = "text answers (surveys, social history, exam findings): observations hold numbers"


def _number(value: Decimal, places: Decimal, limit: Decimal) -> Decimal:
    value = value.quantize(places, rounding=ROUND_HALF_UP)
    if abs(value) >= limit:
        raise RowError("VALUE is too large")
    return value


def _sign_value(code: str, value: Decimal, unit: str) -> tuple[Decimal, str]:
    """The vitals rule: in the sign's canonical unit, within its physiological limits."""
    sign = BMI_SIGN if code == BMI else VITAL_SIGNS[code]
    try:
        value = value if unit == sign.unit else convert(value, unit, sign.unit)
    except DomainError as error:
        raise RowError(str(error)) from None
    value = _number(value, _FOUR_PLACES, _OBSERVATION_LIMIT)
    if not sign.low <= value <= sign.high:
        raise RowError(
            f"{sign.name} is outside the physiological range {sign.low} to {sign.high} {sign.unit}"
        )
    return value, sign.unit


def _result_value(test: LabTest, value: Decimal, unit: str) -> Decimal:
    """The results rule: a unit that fits the test, stored in the test's own unit."""
    assert test.unit is not None
    if unit != test.unit and unit not in test.also_accepts:
        try:
            value = convert(value, unit, test.unit)
        except DomainError:
            raise RowError(
                f"unit {unit!r} does not fit LOINC {test.code}, which is measured in {test.unit}"
            ) from None
    return _number(value, _SIX_PLACES, _RESULT_LIMIT)


def import_observations(batch: Batch, rows: list[SourceRow]) -> None:
    systolic: dict[tuple[str, str, str], str] = {
        (row.text("PATIENT"), row.text("ENCOUNTER"), row.text("DATE")): row.text("VALUE")
        for row in rows
        if row.text("CODE") == SYSTOLIC
    }
    version = catalog().version

    def handle(row: SourceRow, key: str) -> None:
        code = row.required("CODE")
        if code in SYNTHEA_MEASURES:
            batch.summary.skip(SKIP_MEASURES)
            return
        if not _LOINC.match(code):
            raise RowError(f"CODE {code[:16]!r} is not a LOINC code")
        concept = coded(CodeSystem.LOINC, code)
        category = row.text("CATEGORY").lower()
        test = lab_test(concept.code) if category == "laboratory" else None
        text = row.text("TYPE").lower() == "text"
        if text and (test is None or test.kind != "qualitative" or not row.text("ENCOUNTER")):
            batch.summary.skip(SKIP_TEXT)
            return
        patient_key = parse_uuid(row, "PATIENT")
        patient = batch.state.patient(patient_key)
        encounter = None
        if row.text("ENCOUNTER"):
            encounter = batch.state.encounter(parse_uuid(row, "ENCOUNTER"), patient_key)
        when = batch.not_future(parse_instant(row, "DATE"), "DATE")
        if when.date() < patient.birth_date:
            raise RowError("DATE is before the patient was born")
        if encounter is not None and when < encounter.start_at - CLOCK_SKEW:
            raise RowError("DATE is before its encounter started")
        if text:
            assert test is not None and encounter is not None
            _lab_result(batch, row, key, patient, encounter, test, when, version, None)
            return
        value = parse_decimal(row, "VALUE")
        try:
            unit = validate_unit(row.required("UNITS"))
        except DomainError as error:
            raise RowError(str(error)) from None
        if concept.code in VITAL_SIGNS or concept.code == BMI:
            stored, unit = _sign_value(concept.code, value, unit)
            if concept.code == DIASTOLIC:
                taken = (row.text("PATIENT"), row.text("ENCOUNTER"), row.text("DATE"))
                paired = _parsed(systolic.get(taken, ""))
                if paired is not None and stored >= paired:
                    raise RowError("diastolic pressure must be below systolic pressure")
            _observation(
                batch,
                row,
                key,
                patient,
                encounter,
                concept,
                "vital-signs",
                stored,
                unit,
                when,
                derived=concept.code == BMI,
            )
            return
        if test is not None and encounter is not None:
            if test.kind == "panel":
                raise RowError(f"LOINC {test.code} is a panel, not a result")
            if test.kind == "qualitative":
                raise RowError(f"LOINC {test.code} takes a coded or text value, not a number")
            result = _result_value(test, value, unit)
            _lab_result(batch, row, key, patient, encounter, test, when, version, result)
            return
        if category not in OBSERVATION_CATEGORIES:
            raise RowError("CATEGORY is not a FHIR observation category")
        stored = _number(value, _FOUR_PLACES, _OBSERVATION_LIMIT)
        _observation(batch, row, key, patient, encounter, concept, category, stored, unit, when)

    each(batch, rows, key_of("PATIENT", "ENCOUNTER", "DATE", "CODE"), handle)


def _parsed(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except ArithmeticError:
        return None
    return value if value.is_finite() else None


def _observation(
    batch: Batch,
    row: SourceRow,
    key: str,
    patient: PatientRef,
    encounter: EncounterRef | None,
    concept: Concept,
    category: str,
    value: Decimal,
    unit: str,
    when: datetime,
    *,
    derived: bool = False,
) -> None:
    observation_id = uuid.uuid4()
    unit_row = batch.unit(row, key, (OBSERVATIONS, observation_id))
    unit_row.add(
        OBSERVATIONS,
        {
            "id": observation_id,
            "tenant_id": batch.tenant_id,
            "patient_id": patient.id,
            "created_at": batch.now,
            "updated_at": batch.now,
            "encounter_id": encounter.id if encounter is not None else None,
            "category": category,
            "code_system": str(concept.system),
            "code": concept.code,
            "display": concept.display,
            "value": value,
            "unit": unit,
            "effective_at": when,
            "status": "final",
            "is_derived": derived,
            "recorded_by": None,
        },
    )


def _lab_result(
    batch: Batch,
    row: SourceRow,
    key: str,
    patient: PatientRef,
    encounter: EncounterRef,
    test: LabTest,
    when: datetime,
    version: str,
    value: Decimal | None,
) -> None:
    text = None
    if value is None:
        text = row.required("VALUE")
        if len(text) > 2000:
            raise RowError("VALUE is longer than 2000 characters")
    flag = None
    if value is not None:
        flag = numeric_flag(
            value,
            low=test.low,
            high=test.high,
            critical_low=test.critical_low,
            critical_high=test.critical_high,
        )
        if flag in CRITICAL:
            batch.summary.notes["critical results imported without raising an alert"] += 1
    order_id, result_id = uuid.uuid4(), uuid.uuid4()
    base = {
        "tenant_id": batch.tenant_id,
        "patient_id": patient.id,
        "created_at": batch.now,
        "updated_at": batch.now,
    }
    unit = batch.unit(row, key, (LAB_RESULTS, result_id))
    unit.add(
        ORDERS,
        {
            "id": order_id,
            **base,
            "encounter_id": encounter.id,
            "practitioner_id": encounter.practitioner_id,
            "category": "laboratory",
            "code_system": CodeSystem.LOINC.value,
            "code": test.code,
            "display": test.display,
            "priority": "routine",
            "reason_system": None,
            "reason_code": None,
            "reason_display": None,
            "note": None,
            "status": "resulted",
            "result_status": "final",
            "ordered_at": when,
            "ordered_by": None,
            "specimen_type": None,
            "collected_at": when,
            "collected_by": None,
            "resulted_at": when,
            "closed_at": None,
            "closed_by": None,
            "closed_reason": None,
            "data_source": SYNTHEA,
        },
    )
    unit.add(
        LAB_RESULTS,
        {
            "id": result_id,
            **base,
            "order_id": order_id,
            "code_system": CodeSystem.LOINC.value,
            "code": test.code,
            "display": test.display,
            "status": "final",
            "value": value,
            "unit": test.unit if value is not None else None,
            "value_code_system": None,
            "value_code": None,
            "value_display": None,
            "value_text": text,
            "reference_low": test.low if value is not None else None,
            "reference_high": test.high if value is not None else None,
            "critical_low": test.critical_low if value is not None else None,
            "critical_high": test.critical_high if value is not None else None,
            "abnormal_flag": flag,
            "interpretation": None,
            "catalog_version": version,
            "effective_at": when,
            "issued_at": when,
            "recorded_by": None,
        },
    )
