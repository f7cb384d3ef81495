"""conditions, allergies, procedures, immunizations and medications: each row is charted on
its encounter, through the charting, allergy and prescribing rules.

- A condition is a problem-list entry recorded at its encounter, with onset and abatement.
- An allergy's substance is an RxNorm or SNOMED CT concept; its reactions (SNOMED CT) are
  kept as text with their codes, its severity is the worst of theirs (none without one).
- A procedure is performed during its encounter, by the encounter's practitioner.
- An immunization is a CVX vaccine given during its encounter.
- A medication is an imported prescription of a drug of the medication knowledge base (so the
  prescribing checks see its ingredients): active without STOP, stopped at STOP.
"""

import uuid
from datetime import date, datetime

from sqlalchemy import Table

from transactional.charting.codes import DIAGNOSIS_SYSTEMS, PROCEDURE_SYSTEMS
from transactional.charting.models import Condition, Immunization, Procedure
from transactional.errors import DomainError
from transactional.lineage import SYNTHEA
from transactional.medications.knowledge import knowledge_base
from transactional.medications.models import Prescription
from transactional.medications.prescriptions import INDICATION_SYSTEMS, resolve_medication
from transactional.patients.allergies import SUBSTANCE_SYSTEMS
from transactional.patients.models import Allergy
from transactional.synthea.batch import CLOCK_SKEW, Batch, each, key_of
from transactional.synthea.mappings import ALLERGY_CATEGORIES, SEVERITY_ORDER
from transactional.synthea.source import (
    RowError,
    SourceRow,
    coded,
    optional_date,
    optional_instant,
    parse_date,
    parse_instant,
    parse_uuid,
    snomed_text,
)
from transactional.synthea.state import ConditionRef, EncounterRef, PatientRef
from transactional.terminology.systems import CodeSystem

CONDITIONS: Table = Condition.__table__  # type: ignore[assignment]
ALLERGIES: Table = Allergy.__table__  # type: ignore[assignment]
PROCEDURES: Table = Procedure.__table__  # type: ignore[assignment]
IMMUNIZATIONS: Table = Immunization.__table__  # type: ignore[assignment]
PRESCRIPTIONS: Table = Prescription.__table__  # type: ignore[assignment]

CONDITION_COLUMNS = ("START", "PATIENT", "ENCOUNTER", "CODE")
ALLERGY_COLUMNS = ("START", "PATIENT", "ENCOUNTER", "CODE", "SYSTEM")
PROCEDURE_COLUMNS = ("START", "PATIENT", "ENCOUNTER", "CODE")
IMMUNIZATION_COLUMNS = ("DATE", "PATIENT", "ENCOUNTER", "CODE")
MEDICATION_COLUMNS = ("START", "PATIENT", "ENCOUNTER", "CODE")


def _charted(batch: Batch, row: SourceRow) -> tuple[str, PatientRef, EncounterRef]:
    """The row's patient and its encounter, which must be the patient's."""
    patient_key = parse_uuid(row, "PATIENT")
    patient = batch.state.patient(patient_key)
    encounter = batch.state.encounter(parse_uuid(row, "ENCOUNTER"), patient_key)
    return patient_key, patient, encounter


def _system(row: SourceRow, default: CodeSystem) -> str:
    """A SYSTEM column where the file has one (newer Synthea versions), else `default`."""
    return row.text("SYSTEM") or str(default)


def _in_life(day: date, patient: PatientRef, batch: Batch, column: str) -> date:
    if day < patient.birth_date:
        raise RowError(f"{column} is before the patient was born")
    if day > batch.now.date():
        raise RowError(f"{column} is in the future")
    return day


def _during(when: datetime, encounter: EncounterRef, batch: Batch, column: str) -> datetime:
    """The charting rule: during the encounter (from its start), and not in the future."""
    if when < encounter.start_at - CLOCK_SKEW:
        raise RowError(f"{column} is before its encounter started")
    return batch.not_future(when, column)


def _base(batch: Batch, patient: PatientRef) -> dict[str, object]:
    return {
        "tenant_id": batch.tenant_id,
        "patient_id": patient.id,
        "created_at": batch.now,
        "updated_at": batch.now,
    }


def import_conditions(batch: Batch, rows: list[SourceRow]) -> None:
    def handle(row: SourceRow, key: str) -> None:
        _, patient, encounter = _charted(batch, row)
        concept = coded(
            _system(row, CodeSystem.SNOMEDCT), row.required("CODE"), allowed=DIAGNOSIS_SYSTEMS
        )
        onset = _in_life(parse_date(row, "START"), patient, batch, "START")
        abatement = optional_date(row, "STOP")
        if abatement is not None:
            _in_life(abatement, patient, batch, "STOP")
            if abatement < onset:
                raise RowError("STOP is before START")
        condition = ConditionRef(uuid.uuid4(), concept.code, onset, encounter.id)
        held = batch.state.conditions[patient.id]
        held.append(condition)
        unit = batch.unit(row, key, (CONDITIONS, condition.id), undo=lambda: held.remove(condition))
        unit.add(
            CONDITIONS,
            {
                "id": condition.id,
                **_base(batch, patient),
                "encounter_id": encounter.id,
                "category": "problem_list_item",
                "code_system": str(concept.system),
                "code": concept.code,
                "display": concept.display,
                "clinical_status": "resolved" if abatement is not None else "active",
                "verification_status": "confirmed",
                "onset_date": onset,
                "abatement_date": abatement,
                "rank": None,
                "recorded_by": None,
            },
        )

    each(batch, rows, key_of("PATIENT", "ENCOUNTER", "CODE", "START"), handle)


def _reactions(row: SourceRow) -> tuple[str | None, str | None]:
    """The reactions as coded text, and the worst severity among them."""
    texts, severities = [], []
    for number in ("1", "2"):
        if row.text(f"REACTION{number}"):
            reaction = coded(CodeSystem.SNOMEDCT, row.text(f"REACTION{number}"))
            texts.append(snomed_text(reaction))
        severity = row.text(f"SEVERITY{number}").lower()
        if severity:
            if severity not in SEVERITY_ORDER:
                raise RowError(f"SEVERITY{number} must be MILD, MODERATE or SEVERE")
            severities.append(severity)
    worst = max(severities, key=SEVERITY_ORDER.index) if severities else None
    text = "; ".join(texts)
    return (text if len(text) <= 300 else text[:297] + "...") or None, worst


def import_allergies(batch: Batch, rows: list[SourceRow]) -> None:
    active: set[tuple[uuid.UUID, str, str]] = set()

    def handle(row: SourceRow, key: str) -> None:
        _, patient, _ = _charted(batch, row)
        substance = coded(row.required("SYSTEM"), row.required("CODE"), allowed=SUBSTANCE_SYSTEMS)
        category = row.text("CATEGORY").lower() or None
        if category is not None:
            if category not in ALLERGY_CATEGORIES:
                raise RowError(f"CATEGORY {category[:16]!r} is not an allergy category here")
            category = ALLERGY_CATEGORIES[category]
        elif substance.system == CodeSystem.RXNORM:
            category = "medication"
        onset = _in_life(parse_date(row, "START"), patient, batch, "START")
        ended = optional_date(row, "STOP")
        if ended is not None and ended < onset:
            raise RowError("STOP is before START")
        reaction, severity = _reactions(row)
        live = (patient.id, str(substance.system), substance.code)
        if ended is None:
            if live in active:
                raise RowError("this allergy is already on the patient's record")
            active.add(live)
        allergy_id = uuid.uuid4()
        unit = batch.unit(row, key, (ALLERGIES, allergy_id), undo=lambda: active.discard(live))
        unit.add(
            ALLERGIES,
            {
                "id": allergy_id,
                **_base(batch, patient),
                "substance_system": str(substance.system),
                "substance_code": substance.code,
                "substance_display": substance.display,
                "category": category,
                "severity": severity,
                "reaction": reaction,
                "status": "resolved" if ended is not None else "active",
                "onset_date": onset,
                "recorded_by": None,
                "data_source": SYNTHEA,
            },
        )
        if severity is None:
            batch.summary.notes["allergies without a reaction, so without a severity"] += 1

    each(batch, rows, key_of("PATIENT", "ENCOUNTER", "CODE", "START"), handle)


def import_procedures(batch: Batch, rows: list[SourceRow]) -> None:
    def handle(row: SourceRow, key: str) -> None:
        _, patient, encounter = _charted(batch, row)
        concept = coded(
            _system(row, CodeSystem.SNOMEDCT), row.required("CODE"), allowed=PROCEDURE_SYSTEMS
        )
        performed = _during(parse_instant(row, "START"), encounter, batch, "START")
        ended = optional_instant(row, "STOP")
        if ended is not None and ended < performed:
            raise RowError("STOP is before START")
        procedure_id = uuid.uuid4()
        pending = batch.state.procedures[(encounter.id, concept.code)]
        pending.append(procedure_id)
        unit = batch.unit(
            row, key, (PROCEDURES, procedure_id), undo=lambda: pending.remove(procedure_id)
        )
        unit.add(
            PROCEDURES,
            {
                "id": procedure_id,
                **_base(batch, patient),
                "encounter_id": encounter.id,
                "code_system": str(concept.system),
                "code": concept.code,
                "display": concept.display,
                "modifiers": None,
                "units": 1,
                "performed_at": performed,
                "performer_id": encounter.practitioner_id,
                "status": "completed",
                "recorded_by": None,
            },
        )

    each(batch, rows, key_of("PATIENT", "ENCOUNTER", "CODE", "START"), handle)


def import_immunizations(batch: Batch, rows: list[SourceRow]) -> None:
    def handle(row: SourceRow, key: str) -> None:
        _, patient, encounter = _charted(batch, row)
        vaccine = coded(
            _system(row, CodeSystem.CVX), row.required("CODE"), allowed=(CodeSystem.CVX,)
        )
        given = _during(parse_instant(row, "DATE"), encounter, batch, "DATE")
        _in_life(given.date(), patient, batch, "DATE")
        immunization_id = uuid.uuid4()
        codes = batch.state.given[encounter.id]
        codes.add((str(vaccine.system), vaccine.code))
        unit = batch.unit(row, key, (IMMUNIZATIONS, immunization_id))
        unit.add(
            IMMUNIZATIONS,
            {
                "id": immunization_id,
                **_base(batch, patient),
                "encounter_id": encounter.id,
                "vaccine_system": str(vaccine.system),
                "vaccine_code": vaccine.code,
                "vaccine_display": vaccine.display,
                "occurred_at": given,
                "status": "completed",
                "recorded_by": None,
            },
        )

    each(batch, rows, key_of("PATIENT", "ENCOUNTER", "CODE", "DATE"), handle)


STOP_REASON = "ended in the source record"


def import_medications(batch: Batch, rows: list[SourceRow]) -> None:
    version = knowledge_base().provenance.version

    def handle(row: SourceRow, key: str) -> None:
        _, patient, encounter = _charted(batch, row)
        try:
            medication = resolve_medication(_system(row, CodeSystem.RXNORM), row.required("CODE"))
        except DomainError as error:
            raise RowError(str(error)) from None
        started = batch.not_future(parse_instant(row, "START"), "START")
        _in_life(started.date(), patient, batch, "START")
        stopped = optional_instant(row, "STOP")
        if stopped is not None:
            batch.not_future(stopped, "STOP")
            if stopped < started:
                raise RowError("STOP is before START")
        indication = None
        if row.text("REASONCODE"):
            indication = coded(
                CodeSystem.SNOMEDCT, row.text("REASONCODE"), allowed=INDICATION_SYSTEMS
            )
        prescription_id = uuid.uuid4()
        batch.state.given[encounter.id].add((CodeSystem.RXNORM.value, medication.code))
        unit = batch.unit(row, key, (PRESCRIPTIONS, prescription_id))
        unit.add(
            PRESCRIPTIONS,
            {
                "id": prescription_id,
                **_base(batch, patient),
                "medication_system": CodeSystem.RXNORM.value,
                "medication_code": medication.code,
                "medication_display": medication.display,
                "medication_tty": medication.tty,
                "ingredient_codes": list(medication.ingredients),
                "dose_value": None,
                "dose_unit": None,
                "route_system": None,
                "route_code": None,
                "route_display": None,
                "frequency_code": None,
                "frequency_display": None,
                "frequency_per_day": None,
                "as_needed": False,
                "duration_days": None,
                "quantity": None,
                "quantity_unit": None,
                "refills": 0,
                "dispensed_quantity": 0,
                "prescriber_id": encounter.practitioner_id,
                "encounter_id": encounter.id,
                "indication_system": str(indication.system) if indication else None,
                "indication_code": indication.code if indication else None,
                "indication_display": indication.display if indication else None,
                "note": None,
                "status": "stopped" if stopped is not None else "active",
                "knowledge_version": version,
                "created_by": None,
                "signed_at": started,
                "signed_by": None,
                "stopped_at": stopped,
                "stop_reason": STOP_REASON if stopped is not None else None,
                "data_source": SYNTHEA,
            },
        )

    each(batch, rows, key_of("PATIENT", "ENCOUNTER", "CODE", "START", "STOP"), handle)
