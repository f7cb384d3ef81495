"""encounters.csv -> finished encounters, by the rules of `charting.encounters`: a known
practitioner and location, a start neither in the future nor before the patient's birth, an
end after the start, and an inpatient stay admitted at its start and discharged at its end."""

import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import Table

from transactional.charting.models import Encounter
from transactional.synthea.batch import Batch, each
from transactional.synthea.mappings import ENCOUNTER_CLASSES
from transactional.synthea.source import (
    RowError,
    SourceRow,
    code_column,
    coded,
    optional_instant,
    parse_instant,
    parse_uuid,
    snomed_text,
)
from transactional.synthea.state import UTC_ZONE, EncounterRef
from transactional.terminology.systems import CodeSystem

ENCOUNTERS: Table = Encounter.__table__  # type: ignore[assignment]

COLUMNS = ("Id", "START", "PATIENT", "PROVIDER", "ENCOUNTERCLASS", "CODE")


def import_encounters(batch: Batch, rows: list[SourceRow]) -> None:
    state = batch.state

    def handle(row: SourceRow, key: str) -> None:
        patient_key = parse_uuid(row, "PATIENT")
        patient = state.patient(patient_key)
        synthea_class = row.required("ENCOUNTERCLASS").lower()
        encounter_class = ENCOUNTER_CLASSES.get(synthea_class)
        if encounter_class is None:
            raise RowError(f"ENCOUNTERCLASS {synthea_class[:16]!r} has no equivalent here")
        provider_key = parse_uuid(row, "PROVIDER")
        practitioner = state.practitioners.get(provider_key)
        if practitioner is None:
            raise state.missing("providers.csv", provider_key, "PROVIDER")
        location_id, zone = None, UTC_ZONE
        if row.text("ORGANIZATION"):
            organization_key = parse_uuid(row, "ORGANIZATION")
            location = state.locations.get(organization_key)
            if location is None:
                raise state.missing("organizations.csv", organization_key, "ORGANIZATION")
            location_id, zone = location.id, location.zone
        start = batch.not_future(parse_instant(row, "START"), "START")
        if start.date() < patient.birth_date:
            raise RowError("START is before the patient was born")
        end = optional_instant(row, "STOP")
        if end is not None and end < start:
            raise RowError("STOP is before START")
        if end is not None:
            batch.not_future(end, "STOP")
        kind = code_column(row, "CODE", CodeSystem.SNOMEDCT)
        reason = None
        if row.text("REASONCODE"):
            reason = snomed_text(coded(CodeSystem.SNOMEDCT, row.text("REASONCODE")))[:500]
        inpatient = encounter_class == "inpatient"
        encounter_id = uuid.uuid4()
        state.encounters[key] = EncounterRef(
            id=encounter_id,
            patient=patient_key,
            patient_id=patient.id,
            start_at=start,
            encounter_class=encounter_class,
            practitioner_id=practitioner.id,
            location_id=location_id,
            zone=zone if isinstance(zone, ZoneInfo) else UTC_ZONE,
        )
        unit = batch.unit(
            row, key, (ENCOUNTERS, encounter_id), undo=lambda: state.encounters.pop(key)
        )
        unit.add(
            ENCOUNTERS,
            {
                "id": encounter_id,
                "tenant_id": batch.tenant_id,
                "patient_id": patient.id,
                "encounter_class": encounter_class,
                "type_system": str(kind.system),
                "type_code": kind.code,
                "type_display": kind.display,
                "reason": reason,
                "practitioner_id": practitioner.id,
                "location_id": location_id,
                "appointment_id": None,
                "status": "finished" if end is not None else "in_progress",
                "start_at": start,
                "end_at": end,
                "admitted_at": start if inpatient else None,
                "admit_source": None,
                "discharged_at": end if inpatient else None,
                "discharge_disposition": None,
                "created_at": batch.now,
                "updated_at": batch.now,
            },
        )
        if synthea_class != encounter_class:
            batch.summary.notes[
                f"encounter class {synthea_class} recorded as {encounter_class}"
            ] += 1

    each(batch, rows, lambda row: parse_uuid(row, "Id"), handle)
