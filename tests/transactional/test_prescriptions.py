import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from tests.factories.identity import make_tenant, make_user
from tests.factories.medications import SNOMED, actor_of, make_allergy, make_prescription
from tests.factories.patients import make_patient
from tests.factories.scheduling import tenant_session
from transactional.audit.models import AuditEvent
from transactional.database import Database
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.identity.models import Tenant, User
from transactional.identity.roles import Role
from transactional.medications.medication_list import active_medications
from transactional.medications.models import Prescription, PrescriptionFinding
from transactional.medications.prescriptions import (
    NewPrescription,
    read_prescription,
    sign_prescription,
)
from transactional.medications.prescriptions import prescribe as create
from transactional.medications.signing import PrescriptionBlocked
from transactional.medications.workflow import transition
from transactional.patients.allergies import change_allergy_status
from transactional.patients.models import Patient


@dataclass(frozen=True)
class Ward:
    tenant: Tenant
    physician: User
    patient: Patient


@pytest.fixture
def ward(database: Database) -> Ward:
    tenant = make_tenant(database=database)
    return Ward(
        tenant,
        make_user(database=database, tenant=tenant, role=Role.PHYSICIAN),
        make_patient(database=database, tenant=tenant),
    )


def prescribe(database: Database, ward: Ward, code: str, **fields: object) -> Prescription:
    return make_prescription(
        database=database,
        tenant=ward.tenant,
        patient=ward.patient,
        prescriber=ward.physician,
        code=code,
        **fields,  # type: ignore[arg-type]
    ).prescription


def count(
    database: Database, ward: Ward, model: type[Prescription] | type[PrescriptionFinding]
) -> int:
    with tenant_session(database=database, tenant=ward.tenant) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_blocked_signature_writes_nothing_and_names_every_finding(
    database: Database, ward: Ward
) -> None:
    prescribe(database, ward, "36567", dose="40 mg")
    prescribe(database, ward, "11289", dose="5 mg")
    before = (count(database, ward, Prescription), count(database, ward, PrescriptionFinding))

    with pytest.raises(PrescriptionBlocked) as blocked:
        prescribe(database, ward, "21212", dose="500 mg", frequency="BID")

    assert [(f.rule_id, f.severity.value) for f in blocked.value.findings] == [
        ("onc-statin-cyp3a4", "critical")
    ]
    assert "1 critical finding" in str(blocked.value)
    assert (
        count(database, ward, Prescription),
        count(database, ward, PrescriptionFinding),
    ) == before
    with tenant_session(database=database, tenant=ward.tenant) as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("prescription.%"))
        ).all()
    assert [(e.action, e.detail["created"]) for e in events] == [("prescription.sign", True)] * 2
    assert {e.patient_id for e in events} == {ward.patient.id}


def test_an_override_is_stored_with_the_findings_it_overrode(
    database: Database, ward: Ward
) -> None:
    simvastatin = prescribe(database, ward, "36567", dose="40 mg")
    prescribe(database, ward, "11289", dose="5 mg")

    overridden = prescribe(
        database, ward, "21212", dose="500 mg", override_reason="Statin held for the course"
    )

    assert overridden.status == "active"
    assert overridden.override_reason == "Statin held for the course"
    assert overridden.overridden_by == ward.physician.id and overridden.overridden_at
    with tenant_session(database=database, tenant=ward.tenant) as session:
        outcome = read_prescription(
            session=session,
            tenant_id=ward.tenant.id,
            prescription_id=overridden.id,
            actor=actor_of(ward.physician),
        )
        override = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "prescription.override")
        ).one()
    assert [(f.rule_id, f.severity, f.overridden) for f in outcome.findings] == [
        ("onc-statin-cyp3a4", "critical", True)
    ]
    assert outcome.findings[0].interacting_prescription_id == simvastatin.id
    assert override.patient_id == ward.patient.id
    assert override.resource_id == str(overridden.id)
    assert override.detail == {"rules": ["onc-statin-cyp3a4"]}


def test_an_override_reason_without_a_critical_finding_records_no_override(
    database: Database, ward: Ward
) -> None:
    signed = prescribe(database, ward, "29046", override_reason="just in case")

    assert signed.status == "active" and signed.override_reason is None


def test_a_critical_override_marks_only_the_critical_findings(
    database: Database, ward: Ward
) -> None:
    prescribe(database, ward, "8123", dose="15 mg")
    prescribe(database, ward, "11289", dose="5 mg")

    signed = prescribe(
        database, ward, "36437", dose="50 mg", override_reason="Psychiatry-led switch"
    )

    with tenant_session(database=database, tenant=ward.tenant) as session:
        rows = session.scalars(
            select(PrescriptionFinding).where(PrescriptionFinding.prescription_id == signed.id)
        ).all()
    assert {(r.rule_id, r.overridden) for r in rows} == {("onc-ssri-maoi", True)}
    with (
        pytest.raises(IntegrityError, match="only_critical_overridden"),
        tenant_session(database=database, tenant=ward.tenant) as session,
    ):
        session.execute(
            update(PrescriptionFinding)
            .where(PrescriptionFinding.prescription_id == signed.id)
            .values(severity="moderate")
        )


def test_only_active_allergies_are_checked(database: Database, ward: Ward) -> None:
    allergy = make_allergy(
        database=database, tenant=ward.tenant, patient=ward.patient, system=SNOMED, code="764146007"
    )
    with pytest.raises(PrescriptionBlocked):
        prescribe(database, ward, "723", dose="500 mg")
    with tenant_session(database=database, tenant=ward.tenant) as session:
        change_allergy_status(
            session=session,
            tenant_id=ward.tenant.id,
            allergy_id=allergy.id,
            status="resolved",
            actor=actor_of(ward.physician),
        )

    assert prescribe(database, ward, "723", dose="500 mg").status == "active"


def test_stopped_cancelled_and_run_out_medications_are_not_checked_against(
    database: Database, ward: Ward
) -> None:
    phenelzine = prescribe(database, ward, "8123", dose="15 mg")
    course = prescribe(database, ward, "6135", dose="200 mg", duration_days=5)
    with tenant_session(database=database, tenant=ward.tenant) as session:
        transition(
            session=session,
            tenant_id=ward.tenant.id,
            prescription_id=phenelzine.id,
            action="stop",
            reason="Switching antidepressant",
            actor=actor_of(ward.physician),
        )
        session.execute(
            update(Prescription)
            .where(Prescription.id == course.id)
            .values(signed_at=func.now() - timedelta(days=6))
        )

    assert prescribe(database, ward, "36437", dose="50 mg").status == "active"
    assert prescribe(database, ward, "36567", dose="20 mg").status == "active"
    with tenant_session(database=database, tenant=ward.tenant) as session:
        current = active_medications(
            session=session,
            tenant_id=ward.tenant.id,
            patient_id=ward.patient.id,
            actor=actor_of(ward.physician),
        )
    assert {p.medication_code for p in current} == {"36437", "36567"}


def test_concurrent_signings_for_one_patient_see_each_other(database: Database, ward: Ward) -> None:
    """Phenelzine and sertraline signed at once: the lock on the patient makes the second
    signer see the first, so one of them is blocked."""
    ready = threading.Barrier(2)

    def attempt(code: str) -> str:
        try:
            with tenant_session(database=database, tenant=ward.tenant) as session:
                ready.wait(timeout=30)
                create(
                    session=session,
                    tenant_id=ward.tenant.id,
                    patient_id=ward.patient.id,
                    data=NewPrescription("RxNorm", code, "10 mg", "oral", "daily"),
                    actor=actor_of(ward.physician),
                )
            return "signed"
        except PrescriptionBlocked:
            return "blocked"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(attempt, ["8123", "36437"]))

    assert sorted(outcomes) == ["blocked", "signed"]
    assert count(database, ward, Prescription) == 1


def test_signing_a_draft_runs_the_checks_and_only_once(database: Database, ward: Ward) -> None:
    prescribe(database, ward, "8123", dose="15 mg")
    draft = prescribe(database, ward, "10689", dose="50 mg", sign=False)
    assert draft.status == "draft" and draft.signed_at is None
    with (
        pytest.raises(PrescriptionBlocked),
        tenant_session(database=database, tenant=ward.tenant) as session,
    ):
        sign_prescription(
            session=session,
            tenant_id=ward.tenant.id,
            prescription_id=draft.id,
            actor=actor_of(ward.physician),
        )
    with tenant_session(database=database, tenant=ward.tenant) as session:
        stored = session.get(Prescription, draft.id)
        assert stored is not None and stored.status == "draft"
        signed = sign_prescription(
            session=session,
            tenant_id=ward.tenant.id,
            prescription_id=draft.id,
            actor=actor_of(ward.physician),
            override_reason="Palliative care, supervised",
        )
        assert signed.prescription.status == "active"
        with pytest.raises(Conflict, match="active"):
            sign_prescription(
                session=session,
                tenant_id=ward.tenant.id,
                prescription_id=draft.id,
                actor=actor_of(ward.physician),
            )


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"code": "1151"}, InvalidInput, "unknown RxNorm code"),
        ({"code": "141918"}, InvalidInput, "not in the medication knowledge base"),
        ({"code": "161", "dose": "500"}, InvalidInput, "needs a unit"),
        ({"code": "161", "refills": -1}, InvalidInput, "refills"),
        ({"code": "161", "refills": 100}, InvalidInput, "refills"),
        ({"code": "161", "quantity": "-3"}, InvalidInput, "positive"),
    ],
)
def test_bad_orders_are_refused_before_anything_is_written(
    database: Database, ward: Ward, fields: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        prescribe(database, ward, **fields)  # type: ignore[arg-type]
    assert count(database, ward, Prescription) == 0


def test_the_database_enforces_the_workflow_fields(database: Database, ward: Ward) -> None:
    signed = prescribe(database, ward, "29046", quantity=30)
    for values, constraint in (
        ({"status": "stopped"}, "stop_has_reason"),
        ({"status": "cancelled"}, "cancel_has_reason"),
        ({"status": "draft"}, "draft_unsigned"),
        ({"dispensed_quantity": 31}, "dispensed_within_prescribed"),
        ({"refills": -1}, "refills_range"),
        ({"status": "shipped"}, "status_known"),
    ):
        with (
            pytest.raises(IntegrityError, match=constraint),
            tenant_session(database=database, tenant=ward.tenant) as session,
        ):
            session.execute(
                update(Prescription).where(Prescription.id == signed.id).values(**values)
            )


def test_another_tenant_cannot_see_or_change_a_prescription(database: Database, ward: Ward) -> None:
    mine = prescribe(database, ward, "29046")
    stranger = make_tenant(database=database)
    with tenant_session(database=database, tenant=stranger) as session:
        assert session.scalar(select(func.count()).select_from(Prescription)) == 0
        assert session.execute(text("SELECT count(*) FROM prescription_findings")).scalar() == 0
        with pytest.raises(NotFound):
            transition(
                session=session,
                tenant_id=stranger.id,
                prescription_id=mine.id,
                action="stop",
                reason="x",
                actor=actor_of(ward.physician),
            )
    with tenant_session(database=database, tenant=ward.tenant) as session:
        found = session.get(Prescription, mine.id)
        assert found is not None and found.status == "active"
        assert found.dispensed_quantity == Decimal(0)
