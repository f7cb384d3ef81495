"""SOAP notes: write a draft, sign it, amend it as a new version."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.deps import Principal, SessionDep, require
from api.schemas.charting import Amendment, NoteIn, NoteOut, NoteVersionOut
from transactional.charting import notes
from transactional.charting.models import ClinicalNote
from transactional.identity.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["notes"])

Reader = Annotated[Principal, Depends(require(Permission.CHART_READ))]
Writer = Annotated[Principal, Depends(require(Permission.CHART_WRITE))]
Signer = Annotated[Principal, Depends(require(Permission.NOTE_SIGN))]


def _text(body: NoteIn) -> notes.NoteText:
    return notes.NoteText(
        subjective=body.subjective,
        objective=body.objective,
        assessment=body.assessment,
        plan=body.plan,
    )


def note_out(versions: list[ClinicalNote]) -> NoteOut:
    shown = [NoteVersionOut.model_validate(v) for v in versions]
    return NoteOut(note_id=versions[-1].note_id, current=shown[-1], versions=shown)


@router.post(
    "/encounters/{encounter_id}/notes", response_model=NoteOut, status_code=status.HTTP_201_CREATED
)
def create_note(
    encounter_id: uuid.UUID, body: NoteIn, principal: Writer, session: SessionDep
) -> NoteOut:
    note = notes.create_note(
        session=session,
        tenant_id=principal.tenant_id,
        encounter_id=encounter_id,
        text=_text(body),
        actor=principal.actor,
    )
    return note_out([note])


@router.get("/notes/{note_id}", response_model=NoteOut)
def read_note(note_id: uuid.UUID, principal: Reader, session: SessionDep) -> NoteOut:
    return note_out(
        notes.read_note(
            session=session, tenant_id=principal.tenant_id, note_id=note_id, actor=principal.actor
        )
    )


@router.patch("/notes/{note_id}", response_model=NoteOut)
def edit_note(note_id: uuid.UUID, body: NoteIn, principal: Writer, session: SessionDep) -> NoteOut:
    """Edit the current draft; a signed note answers 409 (amend it instead)."""
    notes.edit_note(
        session=session,
        tenant_id=principal.tenant_id,
        note_id=note_id,
        text=_text(body),
        actor=principal.actor,
    )
    return note_out(notes.versions(session=session, tenant_id=principal.tenant_id, note_id=note_id))


@router.post("/notes/{note_id}/sign", response_model=NoteOut)
def sign_note(note_id: uuid.UUID, principal: Signer, session: SessionDep) -> NoteOut:
    notes.sign_note(
        session=session, tenant_id=principal.tenant_id, note_id=note_id, actor=principal.actor
    )
    return note_out(notes.versions(session=session, tenant_id=principal.tenant_id, note_id=note_id))


@router.post(
    "/notes/{note_id}/amendments", response_model=NoteOut, status_code=status.HTTP_201_CREATED
)
def amend_note(
    note_id: uuid.UUID, body: Amendment, principal: Writer, session: SessionDep
) -> NoteOut:
    notes.amend_note(
        session=session,
        tenant_id=principal.tenant_id,
        note_id=note_id,
        text=_text(body),
        reason=body.reason,
        actor=principal.actor,
    )
    return note_out(notes.versions(session=session, tenant_id=principal.tenant_id, note_id=note_id))
