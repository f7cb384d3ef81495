"""Writing and verifying the hash-chained audit trail.

Every write takes a per-chain transaction-scoped advisory lock, so concurrent writers of one
tenant append in a strict order; writers of different tenants never wait on each other.
Callers pass identifiers only, never PHI: `detail` is for codes and counts.
"""

import hashlib
import ipaddress
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from transactional.audit.models import AuditEvent
from transactional.base import utcnow

GENESIS_HASH = "0" * 64
_VERIFY_BATCH = 2_000


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


@dataclass(frozen=True)
class Actor:
    """Who acted and from where. `user_id` None means the system (CLI, pipelines)."""

    user_id: uuid.UUID | None = None
    role: str | None = "system"
    client_address: str | None = None
    user_agent: str | None = None


SYSTEM = Actor()


@dataclass(frozen=True)
class AuditEntry:
    action: str
    outcome: Outcome = Outcome.SUCCESS
    resource_type: str | None = None
    resource_id: str | uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    detail: Mapping[str, str | int | bool | list[str] | None] = field(default_factory=dict)


def _ip_or_none(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _chain_key(tenant_id: uuid.UUID | None) -> str:
    return f"audit:{tenant_id or 'system'}"


def _canonical(event: Any) -> str:
    """`event` is an AuditEvent or a row of its table; both expose the same attributes."""
    client_address = event.client_address
    payload: dict[str, Any] = {
        "id": str(event.id),
        "tenant_id": str(event.tenant_id) if event.tenant_id else None,
        "seq": event.seq,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_user_id": str(event.actor_user_id) if event.actor_user_id else None,
        "actor_role": event.actor_role,
        "patient_id": str(event.patient_id) if event.patient_id else None,
        "action": event.action,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "outcome": event.outcome,
        "client_address": str(client_address) if client_address is not None else None,
        "user_agent": event.user_agent,
        "detail": event.detail,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_hash(event: Any) -> str:
    return hashlib.sha256(f"{event.prev_hash}\n{_canonical(event)}".encode()).hexdigest()


def record(
    *, session: Session, tenant_id: uuid.UUID | None, actor: Actor, entry: AuditEntry
) -> AuditEvent:
    """Append one event to the tenant's chain inside the caller's transaction."""
    session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(_chain_key(tenant_id), 0)))
    )
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.tenant_id.is_not_distinct_from(tenant_id))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    event = AuditEvent(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        seq=(last.seq + 1) if last else 1,
        occurred_at=utcnow(),
        actor_user_id=actor.user_id,
        actor_role=actor.role,
        patient_id=entry.patient_id,
        action=entry.action,
        resource_type=entry.resource_type,
        resource_id=str(entry.resource_id) if entry.resource_id is not None else None,
        outcome=entry.outcome.value,
        client_address=_ip_or_none(actor.client_address),
        user_agent=actor.user_agent[:512] if actor.user_agent else None,
        detail=dict(entry.detail),
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    event.hash = compute_hash(event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class BrokenLink:
    event_id: uuid.UUID
    seq: int
    reason: str


@dataclass(frozen=True)
class Verification:
    valid: bool
    events_checked: int
    first_broken: BrokenLink | None = None


def _chain(session: Session, tenant_id: uuid.UUID | None) -> Iterator[Row[Any]]:
    """Plain rows in chain order, in batches, so a long chain never fills the identity map."""
    table = AuditEvent.__table__
    after = 0
    while True:
        batch = session.execute(
            select(table)
            .where(table.c.tenant_id.is_not_distinct_from(tenant_id), table.c.seq > after)
            .order_by(table.c.seq)
            .limit(_VERIFY_BATCH)
        ).all()
        if not batch:
            return
        yield from batch
        after = batch[-1].seq


def verify(*, session: Session, tenant_id: uuid.UUID | None) -> Verification:
    """Recompute the chain from its first event; report the first event that does not fit."""
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    for event in _chain(session, tenant_id):
        reason = None
        if event.seq != expected_seq:
            reason = f"sequence gap: expected {expected_seq}, found {event.seq}"
        elif event.prev_hash != expected_prev:
            reason = "prev_hash does not match the previous event"
        elif compute_hash(event) != event.hash:
            reason = "content does not match its hash"
        if reason:
            return Verification(False, checked, BrokenLink(event.id, event.seq, reason))
        expected_prev, expected_seq, checked = event.hash, event.seq + 1, checked + 1
    return Verification(True, checked)


def list_events(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    limit: int,
    before_seq: int | None = None,
    action: str | None = None,
    patient_id: uuid.UUID | None = None,
    actor_user_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEvent]:
    """Newest first, keyset-paginated on `seq`."""
    query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if before_seq is not None:
        query = query.where(AuditEvent.seq < before_seq)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if actor_user_id is not None:
        query = query.where(AuditEvent.actor_user_id == actor_user_id)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    return list(session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit)))
