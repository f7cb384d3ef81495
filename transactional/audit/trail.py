"""Writing and verifying the hash-chained audit trail.

A tenant's trail is `CHAINS` interleaved hash chains. A transaction appends to one chain,
chosen at random when it first writes, under that chain's transaction-scoped advisory lock:
appends to one chain are strictly ordered, while concurrent requests of one tenant rarely
meet on the same lock (one chain per tenant made every audited request queue behind every
other until commit). Callers pass identifiers only, never PHI: `detail` is for codes and counts.
"""

import hashlib
import ipaddress
import json
import secrets
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Row, SmallInteger, func, insert, literal, select, tuple_
from sqlalchemy.orm import Session

from transactional.audit.models import AuditEvent
from transactional.base import utcnow

GENESIS_HASH = "0" * 64
CHAINS = 16
_VERIFY_BATCH = 2_000
_CHAIN_KEY = "audit_chain"


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


def _lock_key(tenant_id: uuid.UUID | None, chain: int) -> str:
    return f"audit:{tenant_id or 'system'}:{chain}"


def _of_tenant(column: ColumnElement[Any], tenant_id: uuid.UUID | None) -> ColumnElement[bool]:
    """`=` or `IS NULL`: both use the (tenant_id, chain, seq) index, which
    `IS NOT DISTINCT FROM` cannot, so every append would scan the tenant's whole trail."""
    return column.is_(None) if tenant_id is None else column == tenant_id


def pin_chain(session: Session, chain: int) -> None:
    """Make this transaction append to `chain` (bulk loads, tests). Call before any append."""
    if not 0 <= chain < CHAINS:
        raise ValueError(f"chain must be in 0..{CHAINS - 1}")
    session.info[_CHAIN_KEY] = chain


def _chain_for(session: Session) -> int:
    """One chain per transaction, so a transaction never holds two chain locks (no deadlock)."""
    chain: int = session.info.setdefault(_CHAIN_KEY, secrets.randbelow(CHAINS))
    return chain


def _canonical(event: Any) -> str:
    """`event` is an AuditEvent or a row of its table; both expose the same attributes."""
    client_address = event.client_address
    payload: dict[str, Any] = {
        "id": str(event.id),
        "tenant_id": str(event.tenant_id) if event.tenant_id else None,
        "chain": event.chain,
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
    """Append one event to one of the tenant's chains inside the caller's transaction.

    `app_audit_chain_tail` (migration 0008) takes the chain's lock and then reads its last
    event in a statement of its own, which sees what the previous holder committed.
    """
    chain = _chain_for(session)
    tail = func.app_audit_chain_tail(
        _lock_key(tenant_id, chain), tenant_id, literal(chain, SmallInteger)
    ).table_valued("seq", "hash")
    last = session.execute(select(tail.c.seq, tail.c.hash)).one()
    event = AuditEvent(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        chain=chain,
        seq=(last.seq or 0) + 1,
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
        prev_hash=last.hash or GENESIS_HASH,
    )
    event.hash = compute_hash(event)
    # A Core insert: the ORM unit of work cost more than the rest of the append together.
    columns = AuditEvent.__table__.columns
    session.execute(insert(AuditEvent).values({c.key: getattr(event, c.key) for c in columns}))
    return event


@dataclass(frozen=True)
class BrokenLink:
    event_id: uuid.UUID
    chain: int
    seq: int
    reason: str


@dataclass(frozen=True)
class Verification:
    valid: bool
    events_checked: int
    first_broken: BrokenLink | None = None


def _chain(session: Session, tenant_id: uuid.UUID | None, chain: int) -> Iterator[Row[Any]]:
    """Plain rows in chain order, in batches, so a long chain never fills the identity map."""
    table = AuditEvent.__table__
    after = 0
    while True:
        batch = session.execute(
            select(table)
            .where(
                _of_tenant(table.c.tenant_id, tenant_id),
                table.c.chain == chain,
                table.c.seq > after,
            )
            .order_by(table.c.seq)
            .limit(_VERIFY_BATCH)
        ).all()
        if not batch:
            return
        yield from batch
        after = batch[-1].seq


def _first_break(events: Iterator[Row[Any]], chain: int) -> tuple[int, BrokenLink | None]:
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    for event in events:
        reason = None
        if event.seq != expected_seq:
            reason = f"sequence gap: expected {expected_seq}, found {event.seq}"
        elif event.prev_hash != expected_prev:
            reason = "prev_hash does not match the previous event"
        elif compute_hash(event) != event.hash:
            reason = "content does not match its hash"
        if reason:
            return checked, BrokenLink(event.id, chain, event.seq, reason)
        expected_prev, expected_seq, checked = event.hash, event.seq + 1, checked + 1
    return checked, None


def verify(*, session: Session, tenant_id: uuid.UUID | None) -> Verification:
    """Recompute every chain from its first event; report the first event that does not fit."""
    total = 0
    for chain in range(CHAINS):
        checked, broken = _first_break(_chain(session, tenant_id, chain), chain)
        total += checked
        if broken is not None:
            return Verification(False, total, broken)
    return Verification(True, total)


def list_events(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    limit: int,
    before: uuid.UUID | None = None,
    action: str | None = None,
    patient_id: uuid.UUID | None = None,
    actor_user_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEvent]:
    """Newest first, keyset-paginated on (occurred_at, id); `before` is the last id seen."""
    query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if before is not None:
        last = session.execute(
            select(AuditEvent.occurred_at, AuditEvent.id).where(
                AuditEvent.tenant_id == tenant_id, AuditEvent.id == before
            )
        ).first()
        if last is not None:
            query = query.where(tuple_(AuditEvent.occurred_at, AuditEvent.id) < tuple(last))
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
    ordered = query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    return list(session.scalars(ordered.limit(limit)))
