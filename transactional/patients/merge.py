"""Merging a duplicate patient record into the surviving one.

Every row that points at the duplicate (identifiers, coverage, allergies, appointments,
encounters, notes... whatever the schema holds now or later) is re-pointed to the survivor,
found from the foreign keys in the metadata rather than a list kept by hand. The duplicate
stays, marked merged, so its MRN and id still resolve to the survivor.
"""

import uuid
from functools import cache

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.base import Base, utcnow
from transactional.errors import Conflict, InvalidInput
from transactional.patients.models import Patient
from transactional.patients.registry import writable_patient

MERGE_MARKER = "app.merge_survivor"


@cache
def _patient_children() -> tuple[Table, ...]:
    """Tables with a `patient_id` foreign key to `patients` (importing the full model first)."""
    import transactional.models  # noqa: F401 - registers every table on the metadata

    return tuple(
        table
        for table in Base.metadata.sorted_tables
        if any(
            constraint.referred_table.name == Patient.__tablename__
            and "patient_id" in constraint.column_keys
            for constraint in table.foreign_key_constraints
        )
    )


def merge_patients(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    survivor_id: uuid.UUID,
    duplicate_id: uuid.UUID,
    actor: Actor,
) -> Patient:
    if survivor_id == duplicate_id:
        raise InvalidInput("a record cannot be merged into itself")
    survivor = writable_patient(session, tenant_id, survivor_id)
    duplicate = writable_patient(session, tenant_id, duplicate_id)
    if (
        duplicate.ssn_blind_index
        and survivor.ssn_blind_index
        and (duplicate.ssn_blind_index != survivor.ssn_blind_index)
    ):
        raise Conflict("the two records have different SSNs; they are not the same person")
    # Records that never change otherwise (signed notes, posted money) accept exactly this
    # move, to this survivor, in this transaction (migration 0012).
    session.execute(select(func.set_config(MERGE_MARKER, str(survivor.id), True)))
    moved: dict[str, int] = {}
    for table in _patient_children():
        result = session.connection().execute(
            update(table)
            .where(table.c.tenant_id == tenant_id, table.c.patient_id == duplicate.id)
            .values(patient_id=survivor.id)
        )
        if result.rowcount:
            moved[table.name] = result.rowcount
    duplicate.merged_into_id = survivor.id
    duplicate.merged_at = utcnow()
    session.flush()
    session.expire_all()
    for patient_id, action in (
        (survivor.id, "patient.merge"),
        (duplicate.id, "patient.merged_into"),
    ):
        record(
            session=session,
            tenant_id=tenant_id,
            actor=actor,
            entry=AuditEntry(
                action=action,
                resource_type="patient",
                resource_id=patient_id,
                patient_id=patient_id,
                detail={
                    "survivor_id": str(survivor.id),
                    "duplicate_id": str(duplicate.id),
                    **{f"moved_{name}": count for name, count in moved.items()},
                },
            ),
        )
    return survivor
