"""Replication into the raw layer: nothing lost, nothing duplicated, deletes propagate."""

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from pipelines.reconcile import reconcile
from pipelines.replication import PassReport, full_resync, replicate
from tests.factories.identity import make_tenant
from tests.factories.patients import make_patient
from tests.factories.scheduling import make_location, make_practitioner, set_working_hours
from transactional.audit.trail import SYSTEM, pin_chain
from transactional.capture.checkpoints import load_checkpoint
from transactional.capture.scope import captured_table
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.patients.registry import (
    Demographics,
    delete_patient,
    register_patient,
    update_patient,
)
from transactional.synthetic.seed import seed_population, tenant_for
from transactional.tenancy import bind_tenant
from warehouse.client import Warehouse
from warehouse.raw import as_warehouse_rows, current_rows, write
from warehouse.runs import destination_id


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(url=None, data_dir=tmp_path / "chdb", lock_timeout=60)


@pytest.fixture
def tenant(database: Database) -> Tenant:
    return make_tenant(database=database)


def _pass(
    database: Database, warehouse: Warehouse, *, after_write: Callable[[], None] | None = None
) -> PassReport:
    with warehouse.connect() as client:
        return replicate(source=database.urls.owner, client=client, after_write=after_write)


def _assert_reconciled(database: Database, client: Client, tenant: Tenant) -> None:
    """Warehouse = PostgreSQL for the tenant: every table, counts and content checksums."""
    results = reconcile(source=database.urls.owner, client=client, tenant_id=tenant.id)
    assert [r for r in results if not r.matches] == []
    assert {r.table for r in results} >= {"patients", "working_hours", "tenants"}


def _assert_warehouse_equals_postgres(
    database: Database, warehouse: Warehouse, tenant: Tenant
) -> None:
    with warehouse.connect() as client:
        _assert_reconciled(database, client, tenant)


def _rename(database: Database, tenant: Tenant, patient_id: uuid.UUID, name: str) -> None:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        update_patient(
            session=session,
            tenant_id=tenant.id,
            patient_id=patient_id,
            changes={"given_name": name},
            actor=SYSTEM,
        )


def test_a_new_warehouse_starts_with_a_full_resync_then_goes_incremental(
    database: Database, warehouse: Warehouse, tenant: Tenant
) -> None:
    patient = make_patient(database=database, tenant=tenant, given_name="Ada")
    first = _pass(database, warehouse)
    assert first.kind == "resync" and first.rows["patients"] >= 1

    _rename(database, tenant, patient.id, "Adaline")
    second = _pass(database, warehouse)
    assert second.kind == "incremental" and second.since == first.until
    assert second.rows == {"patients": 1}
    assert second.lag_seconds is not None and 0 <= second.lag_seconds < 60
    with warehouse.connect() as client:
        rows = current_rows(client, captured_table("patients"), tenant_id=tenant.id)
        runs = client.query(
            "SELECT kind, rows FROM ops.replication_runs WHERE destination = {d:String} "
            "ORDER BY finished_at",
            parameters={"d": destination_id(client)},
        ).result_rows
    assert rows.column("given_name").to_pylist() == ["Adaline"]
    assert [kind for kind, _ in runs] == ["resync", "incremental"]
    _assert_warehouse_equals_postgres(database, warehouse, tenant)


def test_nothing_to_do_leaves_the_checkpoint_where_it_is(
    database: Database, warehouse: Warehouse, tenant: Tenant
) -> None:
    make_patient(database=database, tenant=tenant)
    _pass(database, warehouse)
    idle = _pass(database, warehouse)
    assert idle.total_rows == 0


def test_secrets_never_reach_the_warehouse(
    database: Database, warehouse: Warehouse, tenant: Tenant
) -> None:
    make_patient(database=database, tenant=tenant)
    _pass(database, warehouse)
    with warehouse.connect() as client:
        patient_columns = set(client.query("DESCRIBE TABLE raw.patients").result_columns[0])
        user_columns = set(client.query("DESCRIBE TABLE raw.users").result_columns[0])
    assert not patient_columns & {"ssn_encrypted", "ssn_blind_index", "ssn_last4"}
    assert not user_columns & {"password_hash", "mfa_secret_encrypted"}
    assert {"given_name", "_version", "_is_deleted"} <= patient_columns


def test_updates_soft_and_hard_deletes_propagate(
    database: Database, warehouse: Warehouse, tenant: Tenant
) -> None:
    patient = make_patient(database=database, tenant=tenant)
    practitioner = make_practitioner(database=database, tenant=tenant)
    location = make_location(database=database, tenant=tenant)
    before = set_working_hours(
        database=database, tenant=tenant, practitioner=practitioner, location=location
    )
    _pass(database, warehouse)

    # Replacing a template deletes the old rows; deleting a patient is a soft delete.
    after = set_working_hours(
        database=database,
        tenant=tenant,
        practitioner=practitioner,
        location=location,
        weekdays=[1, 3],
    )
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        delete_patient(session=session, tenant_id=tenant.id, patient_id=patient.id, actor=SYSTEM)
    report = _pass(database, warehouse)

    assert report.deleted["working_hours"] == len(before)
    with warehouse.connect() as client:
        hours = current_rows(client, captured_table("working_hours"), tenant_id=tenant.id)
        patients = current_rows(client, captured_table("patients"), tenant_id=tenant.id)
    assert {str(i) for i in hours.column("id").to_pylist()} == {str(h.id) for h in after}
    assert patients.column("deleted_at").to_pylist()[0] is not None
    _assert_warehouse_equals_postgres(database, warehouse, tenant)


def test_concurrent_long_and_short_transactions_all_arrive_exactly_once(
    database: Database, warehouse: Warehouse, tenant: Tenant, owner_engine: Engine
) -> None:
    """Short transactions commit while long ones that wrote earlier are still open; passes run
    throughout. A plain `id > last seen` watermark would skip the long ones' rows."""
    practitioner = make_practitioner(database=database, tenant=tenant)
    location = make_location(database=database, tenant=tenant)
    _pass(database, warehouse)

    stop = threading.Event()
    reports: list[PassReport] = []
    errors: list[BaseException] = []
    long_txids: list[int] = []
    long_open = threading.Barrier(3)

    def replicating() -> None:
        try:
            while not stop.is_set():
                reports.append(_pass(database, warehouse))
                time.sleep(0.05)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    def long_writer(hold: float, chain: int) -> None:
        try:
            with database.transaction() as session:
                bind_tenant(session, tenant.id)
                # Audit chains are picked at random; two open transactions on one chain would
                # wait for each other (1 time in 16) and never both reach the barrier.
                pin_chain(session, chain)
                txid = session.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar()
                assert isinstance(txid, int)
                long_txids.append(txid)
                early = make_patient_in(session, tenant, "Early")
                long_open.wait(timeout=30)
                time.sleep(hold)
                update_patient(
                    session=session,
                    tenant_id=tenant.id,
                    patient_id=early,
                    changes={"family_name": "Latecommitter"},
                    actor=SYSTEM,
                )
        except BaseException as exc:
            errors.append(exc)

    def short_writer(worker: int) -> None:
        try:
            long_open.wait(timeout=30)
            for step in range(6):
                patient = make_patient(database=database, tenant=tenant, given_name=f"S{worker}")
                _rename(database, tenant, patient.id, f"S{worker}-{step}")
                if step % 2 == 0:
                    with database.transaction() as session:
                        bind_tenant(session, tenant.id)
                        delete_patient(
                            session=session,
                            tenant_id=tenant.id,
                            patient_id=patient.id,
                            actor=SYSTEM,
                        )
            set_working_hours(
                database=database,
                tenant=tenant,
                practitioner=practitioner,
                location=location,
                weekdays=[worker % 5 + 1],
            )
        except BaseException as exc:
            errors.append(exc)

    replicator = threading.Thread(target=replicating)
    writers = [
        threading.Thread(target=long_writer, args=(2.5, 1)),
        threading.Thread(target=long_writer, args=(1.0, 2)),
        threading.Thread(target=short_writer, args=(1,)),
    ]
    replicator.start()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    # Let the replicator run until a pass has moved past the long transactions.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(r.until > max(long_txids) for r in list(reports)):
        time.sleep(0.05)
    stop.set()
    replicator.join(timeout=120)
    assert errors == []

    # Passes went on while the long transactions were open, and none moved past them (their
    # rows, written before the short transactions', were not yet committed).
    held_back = [r for r in reports if r.kind == "incremental" and r.until <= min(long_txids)]
    assert len(held_back) >= 2
    assert max(r.until for r in reports) > max(long_txids)

    final = _pass(database, warehouse)
    assert final.kind == "incremental"
    _assert_warehouse_equals_postgres(database, warehouse, tenant)
    with warehouse.connect() as client:
        names = current_rows(client, captured_table("patients"), tenant_id=tenant.id)
    assert names.column("family_name").to_pylist().count("Latecommitter") == 2


def make_patient_in(session: Session, tenant: Tenant, given_name: str) -> uuid.UUID:
    patient = register_patient(
        session=session,
        tenant_id=tenant.id,
        data=Demographics(
            given_name=given_name,
            family_name=f"Long{uuid.uuid4().hex[:6]}",
            birth_date=date(1980, 1, 2),
            sex="male",
        ),
        actor=SYSTEM,
    )
    return patient.id


class Crash(RuntimeError):
    pass


def _crash() -> None:
    raise Crash("power cut between the warehouse insert and the checkpoint save")


def test_a_crash_between_insert_and_checkpoint_leaves_no_duplicates(
    database: Database, warehouse: Warehouse, tenant: Tenant
) -> None:
    patients = [make_patient(database=database, tenant=tenant) for _ in range(3)]
    _pass(database, warehouse)
    with warehouse.connect() as client:
        destination = destination_id(client)
    before = load_checkpoint(database.urls.owner, destination=destination)

    for number, patient in enumerate(patients):
        _rename(database, tenant, patient.id, f"Renamed{number}")
    with pytest.raises(Crash):
        _pass(database, warehouse, after_write=_crash)
    assert load_checkpoint(database.urls.owner, destination=destination) == before

    make_patient(database=database, tenant=tenant, given_name="AfterRestart")
    replayed = _pass(database, warehouse)
    assert replayed.since == before and replayed.rows["patients"] == 4

    _assert_warehouse_equals_postgres(database, warehouse, tenant)
    with warehouse.connect() as client:
        client.command("OPTIMIZE TABLE raw.patients FINAL")
        stored = client.query(
            "SELECT count(), uniqExact(id) FROM raw.patients WHERE tenant_id = {t:UUID}",
            parameters={"t": str(tenant.id)},
        ).result_rows[0]
    assert stored == (4, 4)


def test_an_identical_retry_of_a_batch_is_ignored(
    database: Database, warehouse: Warehouse, tenant: Tenant
) -> None:
    patient = make_patient(database=database, tenant=tenant)
    _pass(database, warehouse)
    table = captured_table("patients")
    with warehouse.connect() as client:
        rows = current_rows(client, table, tenant_id=tenant.id)
        batch = as_warehouse_rows(rows, table, version=2**40, deleted=False, batch="retry")
        # A background merge would collapse copies too, and hide a failed deduplication.
        client.command("SYSTEM STOP MERGES raw.patients")
        try:
            for _ in range(3):
                write(client, table, batch, token="retry:patients")
            physical = client.query(
                "SELECT count() FROM raw.patients WHERE id = {p:UUID}",
                parameters={"p": str(patient.id)},
            ).result_rows[0][0]
        finally:
            client.command("SYSTEM START MERGES raw.patients")
    assert physical == 2  # the replicated row and one copy of the batch, not three


def test_full_resync_replaces_what_the_warehouse_held(
    database: Database, warehouse: Warehouse, tenant: Tenant
) -> None:
    make_patient(database=database, tenant=tenant)
    _pass(database, warehouse)
    table = captured_table("patients")
    with warehouse.connect() as client:
        rows = current_rows(client, table, tenant_id=tenant.id)
        forged = rows.set_column(rows.column_names.index("given_name"), "given_name", [["Forged"]])
        write(
            client,
            table,
            as_warehouse_rows(forged, table, version=2**50, deleted=False, batch="x"),
            token="forged",
        )
        with pytest.raises(AssertionError):
            _assert_reconciled(database, client, tenant)
        report = full_resync(source=database.urls.owner, client=client)
        _assert_reconciled(database, client, tenant)
        destination = destination_id(client)
    assert load_checkpoint(database.urls.owner, destination=destination) == report.until


def test_a_resync_of_a_whole_clinic_copies_every_table_exactly(
    database: Database, warehouse: Warehouse
) -> None:
    """A generated clinic fills every kind of column (numerics, times, dates, JSON, nulls);
    the bulk load (embedded chDB reading the Arrow tables in place) must land each value as
    PostgreSQL holds it."""
    slug = f"resync-{uuid.uuid4().hex[:8]}"
    seed_population(database=database, slug=slug, patients=40, seed=5, as_of=date(2026, 11, 22))
    tenant = tenant_for(database, slug)
    with warehouse.connect() as client:
        report = full_resync(source=database.urls.owner, client=client)
        results = reconcile(source=database.urls.owner, client=client, tenant_id=tenant.id)
    assert [r for r in results if not r.matches] == []
    filled = {r.table for r in results if r.source_rows}
    assert {"observations", "lab_results", "claims", "working_hours", "appointments"} <= filled
    assert all(report.rows[r.table] >= r.source_rows for r in results)


def test_the_change_log_is_pruned_below_every_checkpoint(
    database: Database, warehouse: Warehouse, tenant: Tenant, owner_engine: Engine
) -> None:
    make_patient(database=database, tenant=tenant)
    _pass(database, warehouse)
    make_patient(database=database, tenant=tenant)
    _pass(database, warehouse)
    with owner_engine.connect() as connection:
        floor = connection.execute(text("SELECT min(watermark) FROM replication.checkpoints"))
        below = connection.execute(
            text("SELECT count(*) FROM change_log WHERE txid < :floor"),
            {"floor": floor.scalar()},
        ).scalar()
    assert below == 0


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    yield
    assert [t for t in threading.enumerate() if t.name.startswith("Thread-")] == []
