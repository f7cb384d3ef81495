import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.factories.identity import make_tenant
from transactional.audit.trail import (
    CHAINS,
    SYSTEM,
    Actor,
    AuditEntry,
    Outcome,
    pin_chain,
    record,
    verify,
)
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.tenancy import bind_tenant


def _write(
    database: Database, tenant: Tenant, count: int, chain: int | None = 0, **entry: object
) -> list[uuid.UUID]:
    """`count` events, one transaction each, on `chain` (None: wherever chance puts them)."""
    ids = []
    for i in range(count):
        with database.transaction() as session:
            bind_tenant(session, tenant.id)
            if chain is not None:
                pin_chain(session, chain)
            event = record(
                session=session,
                tenant_id=tenant.id,
                actor=Actor(uuid.uuid4(), "physician", "198.51.100.4", "pytest"),
                entry=AuditEntry(action="patient.read", resource_id=str(i), **entry),  # type: ignore[arg-type]
            )
            ids.append(event.id)
    return ids


@pytest.fixture
def tenant(database: Database) -> Tenant:
    return make_tenant(database=database)


def _verify(database: Database, tenant: Tenant):  # type: ignore[no-untyped-def]
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return verify(session=session, tenant_id=tenant.id)


def test_chain_of_fresh_events_verifies(database: Database, tenant: Tenant) -> None:
    patient = uuid.uuid4()
    _write(database, tenant, 5, patient_id=patient)
    result = _verify(database, tenant)
    assert result.valid and result.events_checked == 5 and result.first_broken is None


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET outcome = 'failure'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ],
)
def test_app_role_cannot_change_or_remove_audit_rows(
    database: Database, tenant: Tenant, statement: str
) -> None:
    _write(database, tenant, 1)
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        with pytest.raises(DBAPIError, match="permission denied"):
            session.execute(text(statement))
        session.rollback()
    assert _verify(database, tenant).events_checked == 1


def test_trigger_refuses_changes_even_from_the_owner(
    database: Database, owner_engine: Engine, tenant: Tenant
) -> None:
    (event_id,) = _write(database, tenant, 1)
    with pytest.raises(DBAPIError, match="append-only"), owner_engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": event_id})


def _tamper(owner_engine: Engine, sql: str, **params: object) -> None:
    """What a superuser can still do: switch triggers off for the session and edit rows."""
    with owner_engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(sql), params)


def test_row_altered_by_a_superuser_is_reported(
    database: Database, owner_engine: Engine, tenant: Tenant
) -> None:
    ids = _write(database, tenant, 4)
    _tamper(owner_engine, "UPDATE audit_events SET outcome = 'denied' WHERE id = :id", id=ids[2])
    result = _verify(database, tenant)
    assert not result.valid
    assert result.first_broken is not None
    assert (result.first_broken.event_id, result.first_broken.seq) == (ids[2], 3)
    assert result.events_checked == 2


def test_row_deleted_by_a_superuser_is_reported(
    database: Database, owner_engine: Engine, tenant: Tenant
) -> None:
    ids = _write(database, tenant, 4)
    _tamper(owner_engine, "DELETE FROM audit_events WHERE id = :id", id=ids[1])
    result = _verify(database, tenant)
    assert not result.valid and result.first_broken is not None
    assert result.first_broken.event_id == ids[2]
    assert "gap" in result.first_broken.reason


def test_rehashed_row_still_breaks_the_next_link(
    database: Database, owner_engine: Engine, tenant: Tenant
) -> None:
    ids = _write(database, tenant, 3)
    _tamper(
        owner_engine, "UPDATE audit_events SET hash = repeat('a', 64) WHERE id = :id", id=ids[0]
    )
    result = _verify(database, tenant)
    assert result.first_broken is not None and result.first_broken.event_id == ids[0]


def test_concurrent_writers_keep_every_chain_linear(database: Database, tenant: Tenant) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda n: _write(database, tenant, 5, chain=n % 2), range(6)))
        list(pool.map(lambda _: _write(database, tenant, 5, chain=None), range(6)))
    result = _verify(database, tenant)
    assert result.valid and result.events_checked == 60


def test_a_break_in_any_chain_is_found(
    database: Database, owner_engine: Engine, tenant: Tenant
) -> None:
    for chain in (0, CHAINS - 1):
        _write(database, tenant, 3, chain=chain)
    with owner_engine.connect() as connection:
        target: Any = connection.execute(
            text("SELECT id FROM audit_events WHERE tenant_id = :t AND chain = :c AND seq = 2"),
            {"t": tenant.id, "c": CHAINS - 1},
        ).scalar_one()
    _tamper(owner_engine, "UPDATE audit_events SET action = 'x' WHERE id = :id", id=target)
    result = _verify(database, tenant)
    assert result.first_broken is not None
    assert (result.first_broken.event_id, result.first_broken.chain) == (target, CHAINS - 1)
    assert result.events_checked == 4


def test_a_transaction_appends_to_one_chain(database: Database, tenant: Tenant) -> None:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        events = [
            record(session=session, tenant_id=tenant.id, actor=SYSTEM, entry=AuditEntry(action="x"))
            for _ in range(5)
        ]
    assert len({event.chain for event in events}) == 1
    assert [event.seq for event in events] == [1, 2, 3, 4, 5]


def test_chains_are_per_tenant_and_verify_in_any_session_time_zone(
    database: Database, tenant: Tenant
) -> None:
    other = make_tenant(database=database)
    _write(database, tenant, 2)
    _write(database, other, 3)
    with database.transaction() as session:
        session.execute(text("SET LOCAL TimeZone = 'Pacific/Chatham'"))
        bind_tenant(session, other.id)
        result = verify(session=session, tenant_id=other.id)
    assert result.valid and result.events_checked == 3


def test_system_events_form_their_own_chain(database: Database) -> None:
    with database.transaction() as session:
        record(
            session=session,
            tenant_id=None,
            actor=SYSTEM,
            entry=AuditEntry(action="auth.login", outcome=Outcome.FAILURE),
        )
    with database.transaction() as session:
        result = verify(session=session, tenant_id=None)
    assert result.valid and result.events_checked >= 1


def test_events_record_who_what_and_from_where(database: Database, tenant: Tenant) -> None:
    patient = uuid.uuid4()
    actor = Actor(uuid.uuid4(), "nurse", "2001:db8::1", "Mozilla/5.0")
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        record(
            session=session,
            tenant_id=tenant.id,
            actor=actor,
            entry=AuditEntry(
                action="patient.update",
                resource_type="patient",
                resource_id=patient,
                patient_id=patient,
            ),
        )
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        row = session.execute(text("SELECT * FROM audit_events")).one()
    assert (row.actor_user_id, row.actor_role, row.patient_id) == (actor.user_id, "nurse", patient)
    assert (row.action, row.resource_type, row.resource_id) == (
        "patient.update",
        "patient",
        str(patient),
    )
    assert (str(row.client_address), row.user_agent, row.outcome) == (
        "2001:db8::1",
        "Mozilla/5.0",
        "success",
    )
    assert row.occurred_at.tzinfo is not None
