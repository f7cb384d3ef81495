"""patients.csv -> patients with their identifiers, payer_transitions.csv -> coverages.

Demographics pass the registry's own checks (`transactional.patients.registry`); an SSN is
stored, encrypted, only if it passes the SSN rules, which Synthea's 999- numbers never do.
Coverages follow the coverage rules: a member id, an ordered period, no two active
coverages of one priority at once.
"""

import uuid
from dataclasses import fields
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Table, select

from transactional.errors import DomainError
from transactional.patients.models import Coverage, Patient, PatientIdentifier
from transactional.patients.mrn import allocate_mrn
from transactional.patients.registry import Demographics, _check, _clean, phone_digits
from transactional.patients.ssn import normalize_ssn, seal_ssn
from transactional.synthea.batch import Batch, each, key_of
from transactional.synthea.mappings import (
    DRIVERS_LICENSE_SYSTEM,
    ETHNICITIES,
    PASSPORT_SYSTEM,
    RACES,
    SEXES,
    SUBSCRIBERS,
    SYNTHEA_ID_SYSTEM,
)
from transactional.synthea.source import (
    RowError,
    SourceRow,
    optional_date,
    parse_date,
    parse_instant,
    parse_uuid,
)
from transactional.synthea.state import CoverageRef, PatientRef

PATIENTS: Table = Patient.__table__  # type: ignore[assignment]
IDENTIFIERS: Table = PatientIdentifier.__table__  # type: ignore[assignment]
COVERAGES: Table = Coverage.__table__  # type: ignore[assignment]

PATIENT_COLUMNS = ("Id", "BIRTHDATE", "FIRST", "LAST", "GENDER")
TRANSITION_COLUMNS = ("PATIENT", "START_YEAR", "END_YEAR", "PAYER")


def _demographics(row: SourceRow, today: date) -> dict[str, Any]:
    """Through the registry's own checks, as a registration at the front desk."""
    sex = SEXES.get(row.text("GENDER").upper())
    if sex is None:
        raise RowError("GENDER must be M or F")
    values: dict[str, Any] = {
        "given_name": row.text("FIRST"),
        "family_name": row.text("LAST"),
        "birth_date": parse_date(row, "BIRTHDATE"),
        "sex": sex,
        "race": RACES.get(row.text("RACE").lower()),
        "ethnicity": ETHNICITIES.get(row.text("ETHNICITY").lower()),
        "address_line1": row.optional("ADDRESS"),
        "city": row.optional("CITY"),
        "state": row.optional("STATE"),
        "postal_code": row.optional("ZIP"),
        "country": "US",
        "deceased_date": optional_date(row, "DEATHDATE"),
    }
    limits = {"given_name": 100, "family_name": 100, "address_line1": 200, "city": 100}
    for name, limit in (*limits.items(), ("state", 50)):
        text = values[name]
        if isinstance(text, str) and len(text) > limit:
            raise RowError(f"{name} is longer than {limit} characters")
    cleaned = _clean(values)
    assert set(cleaned) <= {f.name for f in fields(Demographics)}
    try:
        _check(cleaned, today)
    except DomainError as error:
        raise RowError(str(error)) from None
    return cleaned


def import_patients(batch: Batch, rows: list[SourceRow]) -> None:
    taken = {
        (system, value)
        for system, value in batch.session.execute(
            select(PatientIdentifier.system, PatientIdentifier.value).where(
                PatientIdentifier.tenant_id == batch.tenant_id
            )
        )
    }
    blind = set(
        batch.session.scalars(
            select(Patient.ssn_blind_index).where(
                Patient.tenant_id == batch.tenant_id,
                Patient.ssn_blind_index.is_not(None),
                Patient.is_deleted.is_(False),
                Patient.merged_into_id.is_(None),
            )
        )
    )

    def handle(row: SourceRow, key: str) -> None:
        values = _demographics(row, batch.now.date())
        birth: date = values["birth_date"]
        identifiers: list[tuple[str, str, str | None]] = [(SYNTHEA_ID_SYSTEM, key, None)]
        if row.text("DRIVERS"):
            identifiers.append((DRIVERS_LICENSE_SYSTEM, row.text("DRIVERS"), "DL"))
        if row.text("PASSPORT"):
            identifiers.append((PASSPORT_SYSTEM, row.text("PASSPORT"), "PPN"))
        for system, value, _ in identifiers:
            if len(value) > 100:
                raise RowError("an identifier is longer than 100 characters")
            if (system, value) in taken:
                raise RowError("an identifier of this row already belongs to a patient record")
        patient_id = uuid.uuid4()
        patient = {
            "id": patient_id,
            "tenant_id": batch.tenant_id,
            **values,
            "phone_digits": phone_digits(values["phone"]) if values.get("phone") else None,
            "is_deleted": False,
            "created_at": batch.now,
            "updated_at": batch.now,
            "version": 1,
        }
        patient.update(_ssn(batch, row, patient_id, blind))
        patient["mrn"] = allocate_mrn(session=batch.session)
        for system, value, _ in identifiers:
            taken.add((system, value))
        batch.state.patients[key] = PatientRef(patient_id, birth)

        def undo() -> None:
            batch.state.patients.pop(key, None)
            for system, value, _ in identifiers:
                taken.discard((system, value))

        unit = batch.unit(row, key, (PATIENTS, patient_id), undo=undo)
        unit.add(PATIENTS, patient)
        for system, value, type_code in identifiers:
            unit.add(
                IDENTIFIERS,
                {
                    "id": uuid.uuid4(),
                    "tenant_id": batch.tenant_id,
                    "patient_id": patient_id,
                    "system": system,
                    "value": value,
                    "type_code": type_code,
                    "created_at": batch.now,
                    "updated_at": batch.now,
                },
            )

    each(batch, rows, lambda row: parse_uuid(row, "Id"), handle)


def _ssn(
    batch: Batch, row: SourceRow, patient_id: uuid.UUID, blind: set[str | None]
) -> dict[str, object]:
    text = row.text("SSN")
    if not text:
        return {}
    try:
        normalize_ssn(text)
    except DomainError:
        batch.summary.notes["SSN not stored: not a number the SSA issues"] += 1
        return {}
    if batch.secrets is None:
        batch.summary.notes["SSN not stored: no key material to encrypt it"] += 1
        return {}
    sealed = seal_ssn(
        text,
        tenant_id=batch.tenant_id,
        patient_id=patient_id,
        keyring=batch.secrets.keyring,
        index_key=batch.secrets.blind_index_key,
    )
    if sealed.blind_index in blind:
        raise RowError("another patient record already has this SSN")
    blind.add(sealed.blind_index)
    return {
        "ssn_encrypted": sealed.ciphertext,
        "ssn_blind_index": sealed.blind_index,
        "ssn_last4": sealed.last4,
    }


def import_payer_transitions(batch: Batch, rows: list[SourceRow]) -> None:
    def handle(row: SourceRow, key: str) -> None:
        patient_key = parse_uuid(row, "PATIENT")
        patient = batch.state.patient(patient_key)
        payer_key = parse_uuid(row, "PAYER")
        payer = batch.state.payers.get(payer_key)
        if payer is None:
            raise batch.state.missing("payers.csv", payer_key, "PAYER")
        start = parse_instant(row, "START_YEAR")
        end = parse_instant(row, "END_YEAR")
        if end < start:
            raise RowError("END_YEAR is before START_YEAR")
        if payer.payer_type == "self_pay" or not row.text("MEMBERID"):
            batch.summary.skip("uninsured periods: no coverage is recorded for them")
            return
        member_id = row.text("MEMBERID")
        if len(member_id) > 64:
            raise RowError("MEMBERID is longer than 64 characters")
        # END_YEAR is the instant the next transition starts: its day belongs to the next one.
        period_start = start.date()
        period_end = max(period_start, end.date() - timedelta(days=1))
        relationship = SUBSCRIBERS.get(row.text("OWNERSHIP").lower(), "other")
        plans = [(payer.id, 1)]
        if row.text("SECONDARY_PAYER"):
            secondary_key = parse_uuid(row, "SECONDARY_PAYER")
            secondary = batch.state.payers.get(secondary_key)
            if secondary is None:
                raise batch.state.missing("payers.csv", secondary_key, "SECONDARY_PAYER")
            plans.append((secondary.id, 2))
        held = batch.state.coverages[patient_key]
        for _, priority in plans:
            for other in held:
                if other.priority == priority and _overlap(other, period_start, period_end):
                    raise RowError(f"another active coverage already has priority {priority} then")
        made = [
            CoverageRef(uuid.uuid4(), payer_id, member_id, period_start, period_end, priority)
            for payer_id, priority in plans
        ]
        held.extend(made)

        def undo() -> None:
            for coverage in made:
                held.remove(coverage)

        unit = batch.unit(row, key, (COVERAGES, made[0].id), undo=undo)
        for coverage in made:
            unit.add(
                COVERAGES,
                {
                    "id": coverage.id,
                    "tenant_id": batch.tenant_id,
                    "patient_id": patient.id,
                    "payer_id": coverage.payer_id,
                    "member_id": member_id,
                    "group_number": None,
                    "plan_name": None,
                    "subscriber_relationship": relationship,
                    "period_start": period_start,
                    "period_end": period_end,
                    "priority": coverage.priority,
                    "status": "active",
                    "created_at": batch.now,
                    "updated_at": batch.now,
                },
            )

    each(batch, rows, key_of("PATIENT", "START_YEAR", "PAYER"), handle)


def _overlap(coverage: CoverageRef, start: date, end: date) -> bool:
    return (coverage.end is None or start <= coverage.end) and coverage.start <= end
