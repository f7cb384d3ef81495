"""Registering, reading, changing and soft-deleting patients.

Domain rules live here, not in the API schemas, so that imports and generated populations
pass exactly the same checks as a registration at the front desk.
"""

import re
import uuid
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.patients.models import SEXES, Patient, PatientIdentifier
from transactional.patients.mrn import allocate_mrn
from transactional.patients.ssn import seal_ssn
from transactional.secrets import Secrets

EARLIEST_BIRTH_DATE = date(1880, 1, 1)
_PHONE_DIGITS = re.compile(r"\D+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_POSTAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$")


@dataclass
class Demographics:
    """Every editable patient field except the SSN. `None` clears an optional field."""

    given_name: str | None = None
    middle_name: str | None = None
    family_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    gender_identity: str | None = None
    race: str | None = None
    ethnicity: str | None = None
    preferred_language: str | None = None
    phone: str | None = None
    email: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    emergency_contact_name: str | None = None
    emergency_contact_relationship: str | None = None
    emergency_contact_phone: str | None = None
    deceased_date: date | None = None


REQUIRED = ("given_name", "family_name", "birth_date", "sex")


@dataclass(frozen=True)
class Identifier:
    system: str
    value: str
    type_code: str | None = None


def phone_digits(phone: str) -> str:
    digits = _PHONE_DIGITS.sub("", phone)
    if not 7 <= len(digits) <= 15:
        raise InvalidInput("phone must have 7 to 15 digits")
    return digits


def _check(values: dict[str, Any], today: date) -> None:
    for name in ("given_name", "family_name"):
        if name in values and (values[name] is None or not str(values[name]).strip()):
            raise InvalidInput(f"{name} must not be empty")
    birth_date = values.get("birth_date")
    if "birth_date" in values:
        if birth_date is None:
            raise InvalidInput("birth_date is required")
        if birth_date > today:
            raise InvalidInput("birth_date cannot be in the future")
        if birth_date < EARLIEST_BIRTH_DATE:
            raise InvalidInput(f"birth_date cannot be before {EARLIEST_BIRTH_DATE.isoformat()}")
    deceased = values.get("deceased_date")
    if deceased is not None:
        if deceased > today:
            raise InvalidInput("deceased_date cannot be in the future")
        if birth_date is not None and deceased < birth_date:
            raise InvalidInput("deceased_date cannot be before birth_date")
    if "sex" in values and values["sex"] not in SEXES:
        raise InvalidInput(f"sex must be one of: {', '.join(SEXES)}")
    for name in ("phone", "emergency_contact_phone"):
        if values.get(name) is not None:
            phone_digits(values[name])
    if values.get("email") is not None and not _EMAIL.match(values["email"]):
        raise InvalidInput("email is not a valid address")
    if values.get("postal_code") is not None and not _POSTAL.match(values["postal_code"]):
        raise InvalidInput("postal_code is not a valid postal code")
    country = values.get("country")
    if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
        raise InvalidInput("country must be an ISO 3166-1 alpha-2 code, e.g. US")


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {
        key: (value.strip() or None) if isinstance(value, str) else value
        for key, value in values.items()
    }
    country = cleaned.get("country")
    if isinstance(country, str):
        cleaned["country"] = country.upper()
    return cleaned


def _apply(patient: Patient, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(patient, key, value)
    if "phone" in values:
        patient.phone_digits = phone_digits(values["phone"]) if values["phone"] else None


def _audit(session: Session, actor: Actor, patient: Patient, action: str, **detail: Any) -> None:
    record(
        session=session,
        tenant_id=patient.tenant_id,
        actor=actor,
        entry=AuditEntry(
            action=action,
            resource_type="patient",
            resource_id=patient.id,
            patient_id=patient.id,
            detail=detail,
        ),
    )


def register_patient(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    data: Demographics,
    actor: Actor,
    ssn: str | None = None,
    secrets: Secrets | None = None,
    identifiers: tuple[Identifier, ...] = (),
) -> Patient:
    """`secrets` is needed only with an `ssn`, to encrypt and index it."""
    values = _clean({f.name: getattr(data, f.name) for f in fields(data)})
    missing = [name for name in REQUIRED if values.get(name) is None]
    if missing:
        raise InvalidInput(f"missing required fields: {', '.join(missing)}")
    _check(values, utcnow().date())
    patient = Patient(id=uuid.uuid4(), tenant_id=tenant_id, is_deleted=False)
    _apply(patient, values)
    if ssn is not None:
        _set_ssn(patient, ssn, secrets, session)
    patient.mrn = allocate_mrn(session=session)
    session.add(patient)
    session.flush()
    for identifier in identifiers:
        add_identifier(session=session, patient=patient, identifier=identifier)
    _audit(session, actor, patient, "patient.create")
    return patient


def _set_ssn(patient: Patient, ssn: str, secrets: Secrets | None, session: Session) -> None:
    if secrets is None:
        raise ValueError("an SSN can only be stored with the key material (secrets=...)")
    sealed = seal_ssn(
        ssn,
        tenant_id=patient.tenant_id,
        patient_id=patient.id,
        keyring=secrets.keyring,
        index_key=secrets.blind_index_key,
    )
    clash = session.scalar(
        select(Patient.id).where(
            Patient.tenant_id == patient.tenant_id,
            Patient.ssn_blind_index == sealed.blind_index,
            Patient.id != patient.id,
            Patient.is_deleted.is_(False),
            Patient.merged_into_id.is_(None),
        )
    )
    if clash is not None:
        raise Conflict("another patient record already has this SSN; consider merging")
    patient.ssn_encrypted = sealed.ciphertext
    patient.ssn_blind_index = sealed.blind_index
    patient.ssn_last4 = sealed.last4


def add_identifier(*, session: Session, patient: Patient, identifier: Identifier) -> None:
    system, value = identifier.system.strip(), identifier.value.strip()
    if not system or not value:
        raise InvalidInput("identifiers need a system and a value")
    taken = session.scalar(
        select(PatientIdentifier.patient_id).where(
            PatientIdentifier.tenant_id == patient.tenant_id,
            PatientIdentifier.system == system,
            PatientIdentifier.value == value,
        )
    )
    if taken is not None:
        raise Conflict("this identifier already belongs to a patient record")
    session.add(
        PatientIdentifier(
            id=uuid.uuid4(),
            tenant_id=patient.tenant_id,
            patient_id=patient.id,
            system=system,
            value=value,
            type_code=identifier.type_code,
        )
    )
    session.flush()


def _load(session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID) -> Patient | None:
    return session.scalar(
        select(Patient).where(Patient.tenant_id == tenant_id, Patient.id == patient_id)
    )


def resolve(session: Session, patient: Patient) -> Patient:
    """Follow merges to the surviving record."""
    seen = {patient.id}
    while patient.merged_into_id is not None:
        survivor = _load(session, patient.tenant_id, patient.merged_into_id)
        if survivor is None or survivor.id in seen:
            raise NotFound("patient not found")
        seen.add(survivor.id)
        patient = survivor
    return patient


def find_patient(*, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID) -> Patient:
    """A live record: merged ids resolve to the survivor; deleted records are not found."""
    patient = _load(session, tenant_id, patient_id)
    if patient is None:
        raise NotFound("patient not found")
    patient = resolve(session, patient)
    if patient.is_deleted:
        raise NotFound("patient not found")
    return patient


def read_patient(
    *, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, actor: Actor
) -> Patient:
    patient = find_patient(session=session, tenant_id=tenant_id, patient_id=patient_id)
    _audit(session, actor, patient, "patient.read")
    return patient


def writable_patient(session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID) -> Patient:
    """A record that may change: live, and not merged away."""
    patient = _load(session, tenant_id, patient_id)
    if patient is None or patient.is_deleted:
        raise NotFound("patient not found")
    if patient.merged_into_id is not None:
        raise Conflict(f"this record was merged into patient {patient.merged_into_id}")
    return patient


def update_patient(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    changes: dict[str, Any],
    actor: Actor,
    secrets: Secrets | None = None,
) -> Patient:
    """Apply `changes` (field name → new value; only the fields given change)."""
    patient = writable_patient(session, tenant_id, patient_id)
    ssn = changes.pop("ssn", None) if "ssn" in changes else None
    unknown = set(changes) - {f.name for f in fields(Demographics)}
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    values = _clean(changes)
    _check(values, utcnow().date())
    _apply(patient, values)
    if ssn is not None:
        _set_ssn(patient, ssn, secrets, session)
    session.flush()
    changed = sorted(values) + (["ssn"] if ssn is not None else [])
    _audit(session, actor, patient, "patient.update", fields=",".join(changed))
    return patient


def delete_patient(
    *, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, actor: Actor
) -> None:
    """Soft delete: the record and its history stay, hidden from search and reads."""
    patient = writable_patient(session, tenant_id, patient_id)
    patient.is_deleted = True
    patient.deleted_at = utcnow()
    session.flush()
    _audit(session, actor, patient, "patient.delete")
