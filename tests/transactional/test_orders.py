import csv
import hashlib
import io
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.factories.identity import make_tenant, make_user
from tests.factories.orders import (
    BMP,
    CPT,
    CYP2C19,
    GLUCOSE,
    HBA1C,
    POTASSIUM,
    SODIUM,
    actor_of,
    collect,
    enter_results,
    linked_practitioner,
    make_order,
    numeric,
    resulted_order,
)
from tests.factories.patients import make_patient
from tests.factories.scheduling import tenant_session
from transactional.alerts.lifecycle import acknowledge
from transactional.alerts.models import ClinicalAlert
from transactional.audit.trail import SYSTEM
from transactional.database import Database
from transactional.errors import Conflict, InvalidInput
from transactional.identity.models import Tenant, User
from transactional.identity.roles import Role
from transactional.orders.catalog import catalog, data_dir
from transactional.orders.flags import numeric_flag
from transactional.orders.models import LabResult, Order
from transactional.orders.reports import ReportText, write_report
from transactional.orders.results import ResultEntry, latest_result, record_results
from transactional.orders.workflow import TRANSITIONS, cancel_order, enter_in_error
from transactional.patients.merge import merge_patients
from transactional.patients.models import Patient
from transactional.providers.models import Practitioner
from transactional.terminology.catalog import lookup
from transactional.terminology.systems import CodeSystem
from transactional.terminology.units import validate_unit


@dataclass(frozen=True)
class Lab:
    database: Database
    tenant: Tenant
    physician: User
    practitioner: Practitioner
    patient: Patient

    def order(self, code: str = BMP, **fields: str) -> Order:
        return make_order(
            database=self.database,
            tenant=self.tenant,
            patient=self.patient,
            practitioner=self.practitioner,
            code=code,
            **fields,
        )

    def count(self, table: str) -> int:
        with tenant_session(database=self.database, tenant=self.tenant) as session:
            return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture
def lab(database: Database) -> Lab:
    tenant = make_tenant(database=database)
    physician = make_user(database=database, tenant=tenant, role=Role.PHYSICIAN)
    practitioner = linked_practitioner(database=database, tenant=tenant, user=physician)
    patient = make_patient(database=database, tenant=tenant)
    return Lab(database, tenant, physician, practitioner, patient)


D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2.7", "LL"),
        ("2.8", "L"),
        ("3.4", "L"),
        ("3.5", "N"),
        ("5.1", "N"),
        ("5.2", "H"),
        ("6.2", "H"),
        ("6.3", "HH"),
    ],
)
def test_numeric_flags_follow_reference_and_critical_limits(value: str, expected: str) -> None:
    flag = numeric_flag(
        D(value), low=D("3.5"), high=D("5.1"), critical_low=D("2.8"), critical_high=D("6.2")
    )
    assert flag == expected


def test_a_value_without_an_interval_is_only_flagged_when_critical() -> None:
    assert numeric_flag(D(4), low=None, high=None, critical_low=None, critical_high=D(5)) is None
    assert numeric_flag(D(6), low=None, high=None, critical_low=None, critical_high=D(5)) == "HH"
    assert numeric_flag(D(30), low=D(40), high=None, critical_low=None, critical_high=None) == "L"


def _sha256(name: str) -> str:
    return hashlib.sha256(data_dir().joinpath(name).read_bytes()).hexdigest()


def test_catalog_files_match_their_manifest() -> None:
    manifest = json.loads(data_dir().joinpath("manifest.json").read_text(encoding="utf-8"))
    shipped = sorted(item.name for item in data_dir().iterdir() if item.name.endswith(".csv"))
    assert sorted(entry["file"] for entry in manifest["files"]) == shipped
    for entry in manifest["files"]:
        assert _sha256(entry["file"]) == entry["sha256"], entry["file"]
    assert catalog().version == manifest["catalog_version"]
    assert {"reference_intervals", "critical_limits"} <= set(manifest["sources"])


def test_catalog_agrees_with_the_shipped_terminology() -> None:
    tests = catalog().tests
    for test in tests.values():
        concept = lookup(CodeSystem.LOINC, test.code)
        assert concept is not None and concept.display == test.display, test.code
        assert concept.unit == test.unit, test.code
        assert (test.kind == "quantitative") == (test.unit is not None), test.code
        assert (test.kind == "panel") == bool(test.members), test.code
        assert not test.answers or test.kind == "qualitative", test.code
        for unit in test.also_accepts:
            assert validate_unit(unit) == unit
        for member in test.members:
            assert member in tests and tests[member].kind != "panel", (test.code, member)
        if test.low is not None and test.high is not None:
            assert test.low < test.high, test.code
        if test.critical_low is not None:
            assert test.low is None or test.critical_low <= test.low, test.code
        if test.critical_high is not None:
            assert test.high is None or test.critical_high >= test.high, test.code
    for system, code in catalog().imaging:
        assert lookup(system, code) is not None, code
    for name in ("lab_tests.csv", "lab_panels.csv", "lab_answers.csv"):
        rows = list(csv.reader(io.StringIO(data_dir().joinpath(name).read_text(), newline="")))
        assert len(rows) == len({tuple(row[:2]) for row in rows}), f"{name} repeats a row"


def test_common_panels_and_pharmacogenomic_tests_are_orderable() -> None:
    tests = catalog().tests
    for panel, member in (
        (BMP, POTASSIUM),
        ("24323-8", "1742-6"),  # CMP: ALT
        ("58410-2", "718-7"),  # CBC: hemoglobin
        ("57698-3", "2085-9"),  # lipid panel: HDL
    ):
        assert tests[panel].accepts(member)
    assert tests[HBA1C].kind == "quantitative" and tests[HBA1C].accepts(HBA1C)
    poor = tests[CYP2C19].answers["LA9657-3"]
    assert (poor.display, poor.abnormal) == ("Poor metabolizer", None)


@pytest.mark.parametrize(
    ("code", "low", "high"),
    [
        (POTASSIUM, "2.8", "6.2"),
        (SODIUM, "120", "160"),
        (GLUCOSE, "40", "500"),
        ("718-7", "7", None),  # hemoglobin g/dL
        ("777-3", "20", None),  # platelets 10*3/uL
        ("6301-6", None, "5"),  # INR
    ],
)
def test_critical_limits_named_in_the_issue(code: str, low: str | None, high: str | None) -> None:
    test = catalog().tests[code]
    assert test.critical_low == (D(low) if low else None)
    assert test.critical_high == (D(high) if high else None)


def test_the_database_refuses_an_illegal_status_change(lab: Lab) -> None:
    recorded = resulted_order(
        database=lab.database,
        tenant=lab.tenant,
        patient=lab.patient,
        practitioner=lab.practitioner,
        entries=[numeric(SODIUM, "140", "mmol/L")],
    )
    with tenant_session(database=lab.database, tenant=lab.tenant) as session:
        for statement in (
            "UPDATE orders SET status = 'active' WHERE id = :id",
            "UPDATE orders SET result_status = 'preliminary' WHERE id = :id",
            "UPDATE orders SET code = '2823-3' WHERE id = :id",
            "DELETE FROM orders WHERE id = :id",
        ):
            with pytest.raises(DBAPIError), session.begin_nested():
                session.execute(text(statement), {"id": recorded.order.id})
    assert set(TRANSITIONS["resulted"]) == {"entered_in_error"}


def test_stored_results_never_change_in_the_database(lab: Lab, owner_engine: Engine) -> None:
    recorded = resulted_order(
        database=lab.database,
        tenant=lab.tenant,
        patient=lab.patient,
        practitioner=lab.practitioner,
        entries=[numeric(SODIUM, "140", "mmol/L")],
    )
    result_id = recorded.results[0].id
    with tenant_session(database=lab.database, tenant=lab.tenant) as session:
        for statement in (
            "UPDATE lab_results SET value = 150 WHERE id = :id",
            "UPDATE lab_results SET status = 'preliminary' WHERE id = :id",
            "DELETE FROM lab_results WHERE id = :id",
        ):
            with pytest.raises(DBAPIError), session.begin_nested():
                session.execute(text(statement), {"id": result_id})
    with owner_engine.connect() as connection:  # not even the owner deletes a result
        connection.execute(
            text("SELECT set_config('app.tenant_id', :tenant, true)"),
            {"tenant": str(lab.tenant.id)},
        )
        with pytest.raises(DBAPIError, match="never deleted"):
            connection.execute(text("DELETE FROM lab_results WHERE id = :id"), {"id": result_id})
        connection.rollback()


def test_the_database_refuses_results_on_an_order_without_a_collected_specimen(lab: Lab) -> None:
    order = lab.order()
    statement = text(
        "INSERT INTO lab_results (id, tenant_id, patient_id, order_id, code_system, code, status,"
        " value, unit, catalog_version, effective_at, issued_at, created_at, updated_at)"
        " VALUES (:id, :tenant, :patient, :order, 'http://loinc.org', '2951-2', 'final',"
        " 140, 'mmol/L', '2026.1', now(), now(), now(), now())"
    )
    values = {"tenant": lab.tenant.id, "patient": lab.patient.id, "order": order.id}
    with (
        pytest.raises(DBAPIError, match="specimen is collected"),
        tenant_session(database=lab.database, tenant=lab.tenant) as session,
    ):
        session.execute(statement, values | {"id": uuid.uuid4()})
    with tenant_session(database=lab.database, tenant=lab.tenant) as session:
        cancel_order(
            session=session, tenant_id=lab.tenant.id, order_id=order.id, reason="dup", actor=SYSTEM
        )
    with (
        pytest.raises(DBAPIError, match="specimen is collected"),
        tenant_session(database=lab.database, tenant=lab.tenant) as session,
    ):
        session.execute(statement, values | {"id": uuid.uuid4()})
    assert lab.count("lab_results") == 0


def test_a_preliminary_result_is_superseded_by_the_final_one(lab: Lab) -> None:
    order = lab.order()
    collect(database=lab.database, tenant=lab.tenant, order=order)
    first = enter_results(
        database=lab.database,
        tenant=lab.tenant,
        order=order,
        entries=[numeric(SODIUM, "139", "mmol/L"), numeric(POTASSIUM, "4.0", "mmol/L")],
        status="preliminary",
    )
    assert first.order.result_status == "preliminary"
    partial = enter_results(
        database=lab.database,
        tenant=lab.tenant,
        order=order,
        entries=[numeric(SODIUM, "141", "mmol/L")],
    )
    assert partial.order.result_status == "preliminary"  # potassium is still preliminary
    final = enter_results(
        database=lab.database,
        tenant=lab.tenant,
        order=order,
        entries=[numeric(POTASSIUM, "4.1", "mmol/L")],
    )
    assert (final.order.status, final.order.result_status) == ("resulted", "final")
    with tenant_session(database=lab.database, tenant=lab.tenant) as session:
        rows = session.execute(
            select(LabResult.code, LabResult.value, LabResult.status).order_by(
                LabResult.issued_at, LabResult.code
            )
        ).all()
        with pytest.raises(Conflict, match="final"):
            record_results(
                session=session,
                tenant_id=lab.tenant.id,
                order_id=order.id,
                entries=[numeric(SODIUM, "142", "mmol/L")],
                actor=SYSTEM,
            )
    assert [(r.code, r.value, r.status) for r in rows] == [
        (POTASSIUM, D("4.0"), "superseded"),
        (SODIUM, D("139"), "superseded"),
        (SODIUM, D("141"), "final"),
        (POTASSIUM, D("4.1"), "final"),
    ]


def test_latest_result_reads_a_coded_pharmacogenomic_phenotype(lab: Lab) -> None:
    resulted_order(
        database=lab.database,
        tenant=lab.tenant,
        patient=lab.patient,
        practitioner=lab.practitioner,
        code=CYP2C19,
        entries=[
            ResultEntry(
                system="http://loinc.org",
                code=CYP2C19,
                value_code_system="http://loinc.org",
                value_code="LA9657-3",
                value_text="CYP2C19 *2/*2",
            )
        ],
    )
    with tenant_session(database=lab.database, tenant=lab.tenant) as session:
        found = latest_result(
            session=session, tenant_id=lab.tenant.id, patient_id=lab.patient.id, code=CYP2C19
        )
    assert found is not None
    assert (found.value_code_system, found.value_code, found.value_display) == (
        "http://loinc.org",
        "LA9657-3",
        "Poor metabolizer",
    )
    assert (found.value, found.abnormal_flag, found.value_text) == (None, None, "CYP2C19 *2/*2")


def test_results_racing_a_cancellation_never_land_on_a_cancelled_order(lab: Lab) -> None:
    def cancel(session: Session, order_id: uuid.UUID) -> None:
        cancel_order(
            session=session,
            tenant_id=lab.tenant.id,
            order_id=order_id,
            reason="wrong patient",
            actor=SYSTEM,
        )

    def results(session: Session, order_id: uuid.UUID) -> None:
        record_results(
            session=session,
            tenant_id=lab.tenant.id,
            order_id=order_id,
            entries=[numeric(SODIUM, "140", "mmol/L")],
            actor=SYSTEM,
        )

    outcomes: list[str] = []

    def run(
        step: Callable[[Session, uuid.UUID], None], order_id: uuid.UUID, start: threading.Barrier
    ) -> None:
        start.wait()
        try:
            with tenant_session(database=lab.database, tenant=lab.tenant) as session:
                step(session, order_id)
            outcomes.append(step.__name__)
        except Conflict:
            outcomes.append("refused")

    for _ in range(5):
        order = lab.order()
        collect(database=lab.database, tenant=lab.tenant, order=order)
        start = threading.Barrier(2)
        threads = [
            threading.Thread(target=run, args=(step, order.id, start)) for step in (cancel, results)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with tenant_session(database=lab.database, tenant=lab.tenant) as session:
            status = session.scalar(select(Order.status).where(Order.id == order.id))
            stored = session.scalar(
                select(func.count()).select_from(LabResult).where(LabResult.order_id == order.id)
            )
        assert (status, stored) in (("cancelled", 0), ("resulted", 1))
    assert outcomes.count("refused") == 5 and len(outcomes) == 10


def test_entering_an_order_in_error_withdraws_its_results_and_closes_their_alerts(
    lab: Lab,
) -> None:
    recorded = resulted_order(
        database=lab.database,
        tenant=lab.tenant,
        patient=lab.patient,
        practitioner=lab.practitioner,
        entries=[numeric(POTASSIUM, "7.1", "mmol/L"), numeric(SODIUM, "140", "mmol/L")],
    )
    assert len(recorded.alerts) == 1
    actor = actor_of(lab.physician)
    with tenant_session(database=lab.database, tenant=lab.tenant) as session:
        order = enter_in_error(
            session=session,
            tenant_id=lab.tenant.id,
            order_id=recorded.order.id,
            reason="specimen from another patient",
            actor=actor,
        )
        statuses = set(session.scalars(select(LabResult.status)))
        alert = session.scalar(select(ClinicalAlert))
    assert order.status == "entered_in_error" and order.closed_reason
    assert statuses == {"entered_in_error"}
    assert alert is not None and (alert.status, alert.acted_by) == ("resolved", lab.physician.id)


def test_a_final_report_cannot_change_in_the_database(lab: Lab) -> None:
    order = lab.order("71046", category="imaging", system=CPT)
    with tenant_session(database=lab.database, tenant=lab.tenant) as session:
        written = write_report(
            session=session,
            tenant_id=lab.tenant.id,
            order_id=order.id,
            data=ReportText(text="No acute cardiopulmonary process.", status="final"),
            actor=actor_of(lab.physician),
        )
    assert written.order.status == "resulted"
    with tenant_session(database=lab.database, tenant=lab.tenant) as session:
        for statement in (
            "UPDATE imaging_reports SET text = 'tampered' WHERE id = :id",
            "DELETE FROM imaging_reports WHERE id = :id",
        ):
            with pytest.raises(DBAPIError), session.begin_nested():
                session.execute(text(statement), {"id": written.report.id})


def test_a_merge_moves_orders_results_reports_and_alerts_to_the_survivor(lab: Lab) -> None:
    duplicate = make_patient(database=lab.database, tenant=lab.tenant)
    recorded = resulted_order(
        database=lab.database,
        tenant=lab.tenant,
        patient=duplicate,
        practitioner=lab.practitioner,
        entries=[numeric(POTASSIUM, "6.9", "mmol/L")],
    )
    imaging = make_order(
        database=lab.database,
        tenant=lab.tenant,
        patient=duplicate,
        practitioner=lab.practitioner,
        code="36643-5",
        category="imaging",
    )
    actor = actor_of(lab.physician)
    with tenant_session(database=lab.database, tenant=lab.tenant) as session:
        write_report(
            session=session,
            tenant_id=lab.tenant.id,
            order_id=imaging.id,
            data=ReportText(text="Clear lungs.", status="final"),
            actor=actor,
        )
        acknowledge(
            session=session,
            tenant_id=lab.tenant.id,
            alert_id=recorded.alerts[recorded.results[0].id].id,
            actor=actor,
        )
    with tenant_session(database=lab.database, tenant=lab.tenant) as session:
        merge_patients(
            session=session,
            tenant_id=lab.tenant.id,
            survivor_id=lab.patient.id,
            duplicate_id=duplicate.id,
            actor=SYSTEM,
        )
    for table in ("orders", "lab_results", "imaging_reports", "clinical_alerts"):
        with tenant_session(database=lab.database, tenant=lab.tenant) as session:
            owners: Any = session.execute(
                text(f"SELECT DISTINCT patient_id FROM {table}")
            ).scalars()
            assert list(owners) == [lab.patient.id], table


def test_ordering_refuses_unknown_and_unorderable_codes(lab: Lab) -> None:
    for code, category, message in (
        ("9999-4", "laboratory", "unknown LOINC"),
        ("8480-6", "laboratory", "not an orderable laboratory test"),
        ("71046", "laboratory", "not accepted"),
        ("99213", "imaging", "not an orderable imaging procedure"),
    ):
        system = CPT if code.isdigit() else "http://loinc.org"
        with pytest.raises(InvalidInput, match=message):
            lab.order(code, category=category, system=system)
    assert lab.count("orders") == 0
