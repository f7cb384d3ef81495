"""Procedures performed in an encounter, in CPT, HCPCS Level II or SNOMED CT."""

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.charting.codes import PROCEDURE_SYSTEMS, concept
from transactional.charting.encounters import chartable_encounter
from transactional.charting.models import Procedure
from transactional.errors import InvalidInput
from transactional.providers.models import Practitioner

_MODIFIER = re.compile(r"^[A-Z0-9]{2}$")
_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class NewProcedure:
    system: str
    code: str
    performed_at: datetime | None = None
    performer_id: uuid.UUID | None = None
    units: int = 1
    modifiers: tuple[str, ...] = ()


def add_procedure(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    encounter_id: uuid.UUID,
    data: NewProcedure,
    actor: Actor,
) -> Procedure:
    encounter = chartable_encounter(session=session, tenant_id=tenant_id, encounter_id=encounter_id)
    found = concept(data.system, data.code, allowed=PROCEDURE_SYSTEMS)
    when = data.performed_at or utcnow()
    if when > utcnow() + _CLOCK_SKEW or when < encounter.start_at - _CLOCK_SKEW:
        raise InvalidInput("a procedure is performed during its encounter, not in the future")
    if not 1 <= data.units <= 999:
        raise InvalidInput("units must be between 1 and 999")
    if len(data.modifiers) > 4 or not all(_MODIFIER.match(m) for m in data.modifiers):
        raise InvalidInput("up to four two-character modifiers, e.g. 25 or LT")
    performer = data.performer_id or encounter.practitioner_id
    known = session.scalar(
        select(Practitioner.id).where(
            Practitioner.tenant_id == tenant_id, Practitioner.id == performer
        )
    )
    if known is None:
        raise InvalidInput("performer_id does not name a practitioner of this tenant")
    procedure = Procedure(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        patient_id=encounter.patient_id,
        encounter_id=encounter.id,
        code_system=found.system,
        code=found.code,
        display=found.display,
        modifiers=",".join(data.modifiers) or None,
        units=data.units,
        performed_at=when,
        performer_id=performer,
        status="completed",
        recorded_by=actor.user_id,
    )
    session.add(procedure)
    session.flush()
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(
            action="procedure.add",
            resource_type="procedure",
            resource_id=procedure.id,
            patient_id=procedure.patient_id,
        ),
    )
    return procedure


def procedures_of_encounter(
    *, session: Session, tenant_id: uuid.UUID, encounter_id: uuid.UUID
) -> list[Procedure]:
    return list(
        session.scalars(
            select(Procedure)
            .where(Procedure.tenant_id == tenant_id, Procedure.encounter_id == encounter_id)
            .order_by(Procedure.performed_at)
        )
    )
