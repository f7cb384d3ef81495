"""Change capture (migration 0013): every write to a business table leaves a change record."""

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.factories.identity import make_tenant
from tests.factories.patients import make_patient
from transactional.audit.trail import SYSTEM
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.migrations.capture import NOT_CAPTURED
from transactional.patients.registry import delete_patient, update_patient
from transactional.tenancy import bind_tenant


def _changes(owner_engine: Engine, row_id: uuid.UUID) -> list[tuple[str, str, uuid.UUID]]:
    with owner_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT table_name, op, tenant_id FROM change_log WHERE row_id = :r ORDER BY id"),
            {"r": row_id},
        )
        return [(row.table_name, row.op, row.tenant_id) for row in rows]


def test_every_business_table_is_captured_and_nothing_else(owner_engine: Engine) -> None:
    with owner_engine.connect() as connection:
        tables: Any = set(
            connection.execute(
                text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                )
            ).scalars()
        )
        triggers = connection.execute(
            text(
                "SELECT c.relname, count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname IN ('capture_insert', 'capture_update', 'capture_delete') "
                "GROUP BY c.relname"
            )
        ).all()
    captured = {name for name, count in triggers if count == 3}
    assert captured == tables - NOT_CAPTURED
    assert {"patients", "encounters", "lab_results", "claims", "payments"} <= captured


def test_inserts_updates_and_soft_deletes_are_recorded_with_their_tenant(
    database: Database, owner_engine: Engine
) -> None:
    tenant = make_tenant(database=database)
    patient = make_patient(database=database, tenant=tenant)
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        update_patient(
            session=session,
            tenant_id=tenant.id,
            patient_id=patient.id,
            changes={"city": "Springfield"},
            actor=SYSTEM,
        )
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        delete_patient(session=session, tenant_id=tenant.id, patient_id=patient.id, actor=SYSTEM)
    assert _changes(owner_engine, patient.id) == [
        ("patients", "I", tenant.id),
        ("patients", "U", tenant.id),
        ("patients", "U", tenant.id),
    ]
    assert _changes(owner_engine, tenant.id)[0] == ("tenants", "I", tenant.id)


def test_a_rolled_back_write_leaves_no_change_and_a_committed_one_its_transaction(
    database: Database, owner_engine: Engine
) -> None:
    tenant = make_tenant(database=database)
    with database.sessions() as session, session.begin():
        bind_tenant(session, tenant.id)
        session.execute(
            text("UPDATE locations SET name = name WHERE tenant_id = :t"), {"t": tenant.id}
        )
        abandoned = make_patient(database=database, tenant=tenant)
        session.rollback()
    with database.sessions() as session, session.begin():
        bind_tenant(session, tenant.id)
        gone = uuid.uuid4()
        session.execute(
            text(
                "INSERT INTO departments (id, tenant_id, name, created_at) "
                "VALUES (:id, :t, 'Never', now())"
            ),
            {"id": gone, "t": tenant.id},
        )
        session.rollback()
    assert _changes(owner_engine, gone) == []
    with owner_engine.connect() as connection:
        txids: Any = (
            connection.execute(
                text("SELECT DISTINCT txid FROM change_log WHERE row_id = :r"), {"r": abandoned.id}
            )
            .scalars()
            .all()
        )
    assert len(txids) == 1 and txids[0] > 0


def test_a_copy_records_one_change_per_row(database: Database, owner_engine: Engine) -> None:
    """One statement, one trigger call, one change record per copied row."""
    tenant: Tenant = make_tenant(database=database)
    ids = [uuid.uuid4() for _ in range(250)]
    rows = "".join(
        f"{i}\t{tenant.id}\tDept {n}\t2026-01-01 00:00:00+00\n" for n, i in enumerate(ids)
    )
    raw = owner_engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant.id),))
        with cursor.copy("COPY departments (id, tenant_id, name, created_at) FROM STDIN") as copy:
            copy.write(rows)
        raw.commit()
    finally:
        raw.close()
    with owner_engine.connect() as connection:
        recorded = connection.execute(
            text("SELECT count(*), count(DISTINCT txid) FROM change_log WHERE row_id = ANY(:ids)"),
            {"ids": ids},
        ).one()
    assert tuple(recorded) == (250, 1)


def test_the_app_role_can_neither_read_nor_forge_the_change_log(
    database: Database,
) -> None:
    for statement in (
        "SELECT count(*) FROM change_log",
        "INSERT INTO change_log (txid, table_name, tenant_id, row_id, op) "
        "VALUES (1, 'patients', gen_random_uuid(), gen_random_uuid(), 'I')",
        "DELETE FROM change_log",
    ):
        with pytest.raises(DBAPIError, match="permission denied"), database.transaction() as s:
            s.execute(text(statement))
