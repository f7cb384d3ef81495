"""Finding patients: fuzzy name (pg_trgm), birth date, MRN, phone, identifier, SSN.

Results are ordered by (family name, given name, id) and paginated with a cursor that is just
the last patient's id, so no name ever travels in a URL. Deleted and merged records are left
out, except that looking up a merged MRN finds the surviving record.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, String, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.errors import InvalidInput
from transactional.patients.models import Patient, PatientIdentifier
from transactional.patients.mrn import normalize_mrn
from transactional.patients.registry import phone_digits, resolve
from transactional.patients.ssn import blind_index, normalize_ssn

_DIGITS_ONLY = re.compile(r"^[\d\s()+.-]+$")


@dataclass(frozen=True)
class PatientQuery:
    text: str | None = None
    birth_date: date | None = None
    mrn: str | None = None
    phone: str | None = None
    identifier: str | None = None
    ssn: str | None = None


@dataclass(frozen=True)
class PatientPage:
    items: list[Patient]
    next_cursor: uuid.UUID | None


_NAME_PUNCTUATION = str.maketrans({"-": " ", "'": None, "\u2019": None, ".": None, ",": " "})
_MAX_NAME_WORDS = 4


def name_words(text: str) -> list[str]:
    """The words of a name query, spelt as `patients.search_name` spells names (migration
    0006): lower case, hyphens as spaces, no apostrophes or full stops. Initials are left
    out: one letter matches too many names to narrow a search."""
    words = [word for word in text.lower().translate(_NAME_PUNCTUATION).split() if len(word) > 1]
    return words[:_MAX_NAME_WORDS]


def _name_filter(text: str) -> list[object]:
    """Every word must word-match the name (a typo, a prefix such as "smi", either order),
    through a definer function that can use the trigram index under RLS (migrations 0005,
    0006) and keeps to the transaction's tenant."""
    words = name_words(text)
    if not words:
        raise InvalidInput("name search needs a word of at least two letters")
    matches = func.app_patient_name_matches(array(words, type_=String)).table_valued("id")
    return [Patient.id.in_(select(matches.c.id))]


def _filters(query: PatientQuery, index_key: bytes) -> list[object]:
    conditions: list[object] = []
    if query.text:
        text = query.text.strip()
        alternatives = _name_filter(text) if not _DIGITS_ONLY.match(text) else []
        mrn = normalize_mrn(text)
        if mrn:
            alternatives.append(Patient.mrn == mrn)
        elif _DIGITS_ONLY.match(text):
            alternatives.append(Patient.phone_digits == phone_digits(text))
        conditions.append(or_(*alternatives))  # type: ignore[arg-type]
    if query.birth_date:
        conditions.append(Patient.birth_date == query.birth_date)
    if query.phone:
        conditions.append(Patient.phone_digits == phone_digits(query.phone))
    if query.identifier:
        system, sep, value = query.identifier.partition("|")
        match = PatientIdentifier.value == (value if sep else system)
        if sep:
            match = match & (PatientIdentifier.system == system)
        conditions.append(Patient.id.in_(select(PatientIdentifier.patient_id).where(match)))
    if query.ssn:
        conditions.append(
            Patient.ssn_blind_index == blind_index(normalize_ssn(query.ssn), key=index_key)
        )
    return conditions


def _by_mrn(session: Session, tenant_id: uuid.UUID, text: str) -> list[Patient]:
    mrn = normalize_mrn(text)
    if mrn is None:
        raise InvalidInput("mrn is not a valid MRN (check digit failed or wrong format)")
    patient = session.scalar(
        select(Patient).where(Patient.tenant_id == tenant_id, Patient.mrn == mrn)
    )
    if patient is None:
        return []
    survivor = resolve(session, patient)
    return [] if survivor.is_deleted else [survivor]


def search_patients(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    query: PatientQuery,
    limit: int,
    cursor: uuid.UUID | None,
    actor: Actor,
    index_key: bytes,
) -> PatientPage:
    if query.mrn:
        items = _by_mrn(session, tenant_id, query.mrn)
        page = PatientPage(items=items, next_cursor=None)
    else:
        live = (
            Patient.tenant_id == tenant_id,
            Patient.is_deleted.is_(False),
            Patient.merged_into_id.is_(None),
        )
        conditions = _filters(query, index_key)
        statement: Select[Patient] = select(Patient).where(*live)
        if conditions:
            # Find the matches first (trigram or btree indexes), then sort only them. Left to
            # itself the planner walks the name-ordered index hoping for early matches and,
            # under RLS, read 60,000 rows to answer one rare name at 100,000 patients.
            matches = (
                select(Patient.id)
                .where(*live, *conditions)  # type: ignore[arg-type]
                .cte("matches")
                .prefix_with("MATERIALIZED")
            )
            statement = statement.join(matches, Patient.id == matches.c.id)
        if cursor is not None:
            last = session.execute(
                select(Patient.family_name, Patient.given_name, Patient.id).where(
                    Patient.tenant_id == tenant_id, Patient.id == cursor
                )
            ).first()
            if last is None:
                raise InvalidInput("cursor does not point at a patient")
            statement = statement.where(
                tuple_(Patient.family_name, Patient.given_name, Patient.id) > tuple(last)
            )
        statement = statement.order_by(Patient.family_name, Patient.given_name, Patient.id)
        rows = list(session.scalars(statement.limit(limit + 1)))
        more = len(rows) > limit
        items = rows[:limit]
        page = PatientPage(items=items, next_cursor=items[-1].id if more else None)
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(
            action="patient.search",
            resource_type="patient",
            detail={"returned": len(page.items), "patient_ids": [str(p.id) for p in page.items]},
        ),
    )
    return page
