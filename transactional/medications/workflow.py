"""The prescription workflow after signing: send to the pharmacy, cancel, stop.

Dispensing moves a prescription on too, in `transactional/pharmacy/dispensing.py`.
"""

import uuid
from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy.orm import Session

from transactional.audit.trail import Actor
from transactional.base import utcnow
from transactional.errors import Conflict, InvalidInput
from transactional.medications.models import Prescription
from transactional.medications.prescriptions import find_prescription
from transactional.medications.signing import audit, clean_text
from transactional.medications.types import PrescriptionStatus

S = PrescriptionStatus

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: Mapping[str, tuple[frozenset[str], str]] = MappingProxyType(
    {
        "send": (frozenset({S.ACTIVE}), S.SENT),
        "cancel": (frozenset({S.DRAFT, S.ACTIVE, S.SENT}), S.CANCELLED),
        "stop": (frozenset({S.ACTIVE, S.SENT, S.PARTIALLY_DISPENSED, S.DISPENSED}), S.STOPPED),
    }
)


def transition(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    prescription_id: uuid.UUID,
    action: str,
    actor: Actor,
    reason: str | None = None,
) -> Prescription:
    """send, cancel or stop; cancel and stop need a reason."""
    prescription = find_prescription(
        session=session, tenant_id=tenant_id, prescription_id=prescription_id, for_update=True
    )
    sources, target = TRANSITIONS[action]
    if prescription.status not in sources:
        raise Conflict(f"cannot {action} a prescription that is {prescription.status}")
    why = clean_text(reason, "reason", 500)
    now = utcnow()
    if action == "send":
        prescription.sent_at, prescription.sent_by = now, actor.user_id
    elif why is None:
        raise InvalidInput(f"a reason is required to {action} a prescription")
    elif action == "cancel":
        prescription.cancelled_at, prescription.cancelled_by = now, actor.user_id
        prescription.cancel_reason = why
    else:
        prescription.stopped_at, prescription.stopped_by = now, actor.user_id
        prescription.stop_reason = why
    prescription.status = target
    session.flush()
    audit(session, actor, prescription, f"prescription.{action}")
    return prescription
