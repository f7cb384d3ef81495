"""What later files need to know about rows of earlier ones, by their Synthea ids.

Filled from the source keys of earlier imports (rows already present) and from the rows of
this import as they are validated. A row that failed is remembered with its line, so the rows
that depend on it can say so.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.billing.models import Charge
from transactional.charting.models import Condition, Encounter, Immunization, Procedure
from transactional.medications.models import Prescription
from transactional.patients.models import Coverage, Patient, Payer
from transactional.providers.models import Location, Practitioner
from transactional.synthea.models import SourceKey
from transactional.synthea.source import RowError


@dataclass(frozen=True)
class LocationRef:
    id: uuid.UUID
    zone: ZoneInfo


@dataclass(frozen=True)
class PractitionerRef:
    id: uuid.UUID
    department_id: uuid.UUID | None


@dataclass(frozen=True)
class PayerRef:
    id: uuid.UUID
    payer_type: str


@dataclass(frozen=True)
class PatientRef:
    id: uuid.UUID
    birth_date: date


@dataclass(frozen=True)
class CoverageRef:
    id: uuid.UUID
    payer_id: uuid.UUID
    member_id: str
    start: date
    end: date | None
    priority: int

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class EncounterRef:
    id: uuid.UUID
    patient: str
    patient_id: uuid.UUID
    start_at: datetime
    encounter_class: str
    practitioner_id: uuid.UUID
    location_id: uuid.UUID | None
    zone: ZoneInfo


@dataclass(frozen=True)
class ConditionRef:
    id: uuid.UUID
    code: str
    onset: date | None
    encounter_id: uuid.UUID | None


UTC_ZONE = ZoneInfo("UTC")
WHAT = {
    "organizations.csv": "organization",
    "providers.csv": "provider",
    "payers.csv": "payer",
    "patients.csv": "patient",
    "encounters.csv": "encounter",
    "claims.csv": "claim",
    "claims_transactions.csv": "transaction",
}


@dataclass
class State:
    tenant_id: uuid.UUID
    keys: dict[tuple[str, str], uuid.UUID | None] = field(default_factory=dict)
    locations: dict[str, LocationRef] = field(default_factory=dict)
    practitioners: dict[str, PractitionerRef] = field(default_factory=dict)
    payers: dict[str, PayerRef] = field(default_factory=dict)
    patients: dict[str, PatientRef] = field(default_factory=dict)
    coverages: dict[str, list[CoverageRef]] = field(default_factory=lambda: defaultdict(list))
    encounters: dict[str, EncounterRef] = field(default_factory=dict)
    conditions: dict[uuid.UUID, list[ConditionRef]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # (encounter id, SNOMED CT code) -> procedures of that code no charge names yet
    procedures: dict[tuple[uuid.UUID, str], list[uuid.UUID]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # encounter id -> (system, code) of the drugs and vaccines given in it
    given: dict[uuid.UUID, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    failed: dict[tuple[str, str], int] = field(default_factory=dict)

    def present(self, file: str, key: str) -> bool:
        return (file, key) in self.keys

    def target(self, file: str, key: str) -> uuid.UUID | None:
        return self.keys.get((file, key))

    def missing(self, file: str, synthea_id: str, column: str) -> RowError:
        """Why a reference cannot be followed: its row failed, or there is no such row."""
        line = self.failed.get((file, synthea_id))
        if line is not None:
            return RowError(f"its {WHAT.get(file, 'row')} failed to import ({file}:{line})")
        return RowError(f"{column} names no row of {file}")

    def patient(self, synthea_id: str, column: str = "PATIENT") -> PatientRef:
        found = self.patients.get(synthea_id)
        if found is None:
            raise self.missing("patients.csv", synthea_id, column)
        return found

    def encounter(self, synthea_id: str, patient: str, column: str = "ENCOUNTER") -> EncounterRef:
        found = self.encounters.get(synthea_id)
        if found is None:
            raise self.missing("encounters.csv", synthea_id, column)
        if found.patient != patient:
            raise RowError(f"{column} is an encounter of another patient")
        return found


def load_state(session: Session, tenant_id: uuid.UUID) -> State:
    """Everything earlier imports into this tenant left that later rows may refer to."""
    state = State(tenant_id)
    by_file: dict[str, dict[uuid.UUID, str]] = defaultdict(dict)
    for file, key, target in session.execute(
        select(SourceKey.file, SourceKey.source_key, SourceKey.target_id).where(
            SourceKey.tenant_id == tenant_id
        )
    ):
        state.keys[(file, key)] = target
        if target is not None:
            by_file[file][target] = key
    _load_directory(session, state, by_file)
    _load_people(session, state, by_file)
    _load_clinical(session, state, by_file)
    return state


def _ids(by_file: dict[str, dict[uuid.UUID, str]], file: str) -> list[uuid.UUID]:
    return list(by_file[file])


def _load_directory(
    session: Session, state: State, by_file: dict[str, dict[uuid.UUID, str]]
) -> None:
    keys = by_file["organizations.csv"]
    for row_id, zone in session.execute(
        select(Location.id, Location.time_zone).where(
            Location.id.in_(_ids(by_file, "organizations.csv"))
        )
    ):
        state.locations[keys[row_id]] = LocationRef(row_id, ZoneInfo(zone))
    keys = by_file["providers.csv"]
    for row_id, department_id in session.execute(
        select(Practitioner.id, Practitioner.department_id).where(
            Practitioner.id.in_(_ids(by_file, "providers.csv"))
        )
    ):
        state.practitioners[keys[row_id]] = PractitionerRef(row_id, department_id)
    keys = by_file["payers.csv"]
    for row_id, payer_type in session.execute(
        select(Payer.id, Payer.payer_type).where(Payer.id.in_(_ids(by_file, "payers.csv")))
    ):
        state.payers[keys[row_id]] = PayerRef(row_id, payer_type)


def _load_people(session: Session, state: State, by_file: dict[str, dict[uuid.UUID, str]]) -> None:
    patients = by_file["patients.csv"]
    for row_id, birth_date in session.execute(
        select(Patient.id, Patient.birth_date).where(Patient.id.in_(list(patients)))
    ):
        state.patients[patients[row_id]] = PatientRef(row_id, birth_date)
    for coverage in session.scalars(
        select(Coverage).where(Coverage.patient_id.in_(list(patients)), Coverage.status == "active")
    ):
        state.coverages[patients[coverage.patient_id]].append(
            CoverageRef(
                coverage.id,
                coverage.payer_id,
                coverage.member_id,
                coverage.period_start,
                coverage.period_end,
                coverage.priority,
            )
        )
    locations = {ref.id: ref.zone for ref in state.locations.values()}
    encounters = by_file["encounters.csv"]
    for encounter in session.scalars(select(Encounter).where(Encounter.id.in_(list(encounters)))):
        state.encounters[encounters[encounter.id]] = EncounterRef(
            id=encounter.id,
            patient=patients[encounter.patient_id],
            patient_id=encounter.patient_id,
            start_at=encounter.start_at,
            encounter_class=encounter.encounter_class,
            practitioner_id=encounter.practitioner_id,
            location_id=encounter.location_id,
            zone=locations.get(encounter.location_id, UTC_ZONE)
            if encounter.location_id is not None
            else UTC_ZONE,
        )


def _load_clinical(
    session: Session, state: State, by_file: dict[str, dict[uuid.UUID, str]]
) -> None:
    for condition in session.scalars(
        select(Condition).where(Condition.id.in_(_ids(by_file, "conditions.csv")))
    ):
        state.conditions[condition.patient_id].append(
            ConditionRef(condition.id, condition.code, condition.onset_date, condition.encounter_id)
        )
    charged = select(Charge.procedure_id).where(Charge.procedure_id.is_not(None))
    for row_id, encounter_id, code in session.execute(
        select(Procedure.id, Procedure.encounter_id, Procedure.code).where(
            Procedure.id.in_(_ids(by_file, "procedures.csv")), Procedure.id.not_in(charged)
        )
    ):
        state.procedures[(encounter_id, code)].append(row_id)
    given = [
        *session.execute(
            select(
                Prescription.encounter_id,
                Prescription.medication_system,
                Prescription.medication_code,
            ).where(Prescription.id.in_(_ids(by_file, "medications.csv")))
        ),
        *session.execute(
            select(
                Immunization.encounter_id, Immunization.vaccine_system, Immunization.vaccine_code
            ).where(Immunization.id.in_(_ids(by_file, "immunizations.csv")))
        ),
    ]
    for given_in, system, code in given:
        if given_in is not None:
            state.given[given_in].add((system, code))
