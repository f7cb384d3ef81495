"""SOAP notes: drafted by their author, signed once, then amended only as new versions.

A signed version is immutable, here and in the database (a trigger refuses any UPDATE or
DELETE of a signed row). An amendment copies the latest signed version into a new draft
version with a reason; signing it makes it the current version of the note.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.charting.encounters import chartable_encounter
from transactional.charting.models import ClinicalNote
from transactional.errors import Conflict, InvalidInput, NotFound

_SECTIONS = ("subjective", "objective", "assessment", "plan")


@dataclass(frozen=True)
class NoteText:
    subjective: str | None = None
    objective: str | None = None
    assessment: str | None = None
    plan: str | None = None


def _audit(session: Session, actor: Actor, note: ClinicalNote, action: str) -> None:
    record(
        session=session,
        tenant_id=note.tenant_id,
        actor=actor,
        entry=AuditEntry(
            action=action,
            resource_type="clinical_note",
            resource_id=note.id,
            patient_id=note.patient_id,
            detail={"note_id": str(note.note_id), "version": note.version},
        ),
    )


def _author(actor: Actor) -> uuid.UUID:
    if actor.user_id is None:
        raise InvalidInput("notes are written by a signed-in user")
    return actor.user_id


def create_note(
    *, session: Session, tenant_id: uuid.UUID, encounter_id: uuid.UUID, text: NoteText, actor: Actor
) -> ClinicalNote:
    encounter = chartable_encounter(session=session, tenant_id=tenant_id, encounter_id=encounter_id)
    note = ClinicalNote(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        patient_id=encounter.patient_id,
        encounter_id=encounter.id,
        note_id=uuid.uuid4(),
        version=1,
        author_id=_author(actor),
        status="draft",
        **{section: getattr(text, section) or "" for section in _SECTIONS},
    )
    session.add(note)
    session.flush()
    _audit(session, actor, note, "note.create")
    return note


def versions(*, session: Session, tenant_id: uuid.UUID, note_id: uuid.UUID) -> list[ClinicalNote]:
    found = list(
        session.scalars(
            select(ClinicalNote)
            .where(ClinicalNote.tenant_id == tenant_id, ClinicalNote.note_id == note_id)
            .order_by(ClinicalNote.version)
        )
    )
    if not found:
        raise NotFound("note not found")
    return found


def read_note(
    *, session: Session, tenant_id: uuid.UUID, note_id: uuid.UUID, actor: Actor
) -> list[ClinicalNote]:
    """Every version, oldest first; the last one is current."""
    found = versions(session=session, tenant_id=tenant_id, note_id=note_id)
    _audit(session, actor, found[-1], "note.read")
    return found


def _latest_draft(
    session: Session, tenant_id: uuid.UUID, note_id: uuid.UUID, actor: Actor
) -> ClinicalNote:
    latest = versions(session=session, tenant_id=tenant_id, note_id=note_id)[-1]
    if latest.status == "signed":
        raise Conflict("a signed note cannot be edited; amend it instead")
    if latest.author_id != actor.user_id:
        raise Conflict("only the author may edit or sign a draft note")
    return latest


def edit_note(
    *, session: Session, tenant_id: uuid.UUID, note_id: uuid.UUID, text: NoteText, actor: Actor
) -> ClinicalNote:
    draft = _latest_draft(session, tenant_id, note_id, actor)
    for section in _SECTIONS:
        value = getattr(text, section)
        if value is not None:
            setattr(draft, section, value)
    session.flush()
    _audit(session, actor, draft, "note.edit")
    return draft


def sign_note(
    *, session: Session, tenant_id: uuid.UUID, note_id: uuid.UUID, actor: Actor
) -> ClinicalNote:
    draft = _latest_draft(session, tenant_id, note_id, actor)
    if not any(getattr(draft, section).strip() for section in _SECTIONS):
        raise InvalidInput("an empty note cannot be signed")
    draft.status = "signed"
    draft.signed_at = utcnow()
    draft.signed_by = actor.user_id
    session.flush()
    _audit(session, actor, draft, "note.sign")
    return draft


def amend_note(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    note_id: uuid.UUID,
    text: NoteText,
    reason: str,
    actor: Actor,
) -> ClinicalNote:
    if not reason.strip():
        raise InvalidInput("an amendment needs a reason")
    latest = versions(session=session, tenant_id=tenant_id, note_id=note_id)[-1]
    if latest.status != "signed":
        raise Conflict("only a signed note can be amended; edit the draft instead")
    chartable_encounter(session=session, tenant_id=tenant_id, encounter_id=latest.encounter_id)
    amendment = ClinicalNote(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        patient_id=latest.patient_id,
        encounter_id=latest.encounter_id,
        note_id=latest.note_id,
        version=latest.version + 1,
        author_id=_author(actor),
        status="draft",
        amendment_reason=reason.strip(),
        **{
            section: getattr(text, section)
            if getattr(text, section) is not None
            else getattr(latest, section)
            for section in _SECTIONS
        },
    )
    session.add(amendment)
    session.flush()
    _audit(session, actor, amendment, "note.amend")
    return amendment


def notes_of_encounter(
    *, session: Session, tenant_id: uuid.UUID, encounter_id: uuid.UUID
) -> list[ClinicalNote]:
    return list(
        session.scalars(
            select(ClinicalNote)
            .where(ClinicalNote.tenant_id == tenant_id, ClinicalNote.encounter_id == encounter_id)
            .order_by(ClinicalNote.created_at, ClinicalNote.version)
        )
    )
