import threading
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.factories.identity import make_tenant, make_user
from tests.factories.orders import actor_of, linked_practitioner
from tests.factories.patients import make_patient
from tests.factories.scheduling import make_practitioner, tenant_session
from transactional.alerts.lifecycle import (
    NewAlert,
    acknowledge,
    find_alert,
    override,
    raise_alert,
    resolve_for_subjects,
)
from transactional.alerts.models import ClinicalAlert
from transactional.alerts.queries import alerts_of_patient, inbox
from transactional.audit.trail import SYSTEM
from transactional.database import Database
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.identity.models import Tenant, User
from transactional.identity.roles import Role
from transactional.patients.models import Patient
from transactional.providers.models import Practitioner


@dataclass(frozen=True)
class Ward:
    database: Database
    tenant: Tenant
    physician: User
    practitioner: Practitioner
    patient: Patient

    def alert(self, **fields: object) -> ClinicalAlert:
        values: dict[str, object] = {
            "patient_id": self.patient.id,
            "source": "decision_support",
            "kind": "drug_gene_interaction",
            "severity": "warning",
            "title": "Clopidogrel in a CYP2C19 poor metabolizer",
            "rationale": "Reduced activation of clopidogrel (CPIC).",
            "subject_type": "prescription",
            "subject_id": uuid.uuid4(),
            "data": {"gene": "CYP2C19", "phenotype": {"code": "LA9657-3"}},
            "suggested_actions": ("Consider prasugrel or ticagrelor",),
            "recipient_practitioner_id": self.practitioner.id,
            "rule_id": "pgx.cyp2c19.clopidogrel",
            "rule_version": "1",
        } | fields
        with tenant_session(database=self.database, tenant=self.tenant) as session:
            return raise_alert(
                session=session,
                tenant_id=self.tenant.id,
                data=NewAlert(**values),  # type: ignore[arg-type]
                actor=SYSTEM,
            )


@pytest.fixture
def ward(database: Database) -> Ward:
    tenant = make_tenant(database=database)
    physician = make_user(database=database, tenant=tenant, role=Role.PHYSICIAN)
    return Ward(
        database,
        tenant,
        physician,
        linked_practitioner(database=database, tenant=tenant, user=physician),
        make_patient(database=database, tenant=tenant),
    )


def test_an_alert_keeps_the_rule_its_data_and_its_suggestions(ward: Ward) -> None:
    alert = ward.alert()
    assert (alert.status, alert.severity, alert.rule_id, alert.rule_version) == (
        "open",
        "warning",
        "pgx.cyp2c19.clopidogrel",
        "1",
    )
    assert alert.data == {"gene": "CYP2C19", "phenotype": {"code": "LA9657-3"}}
    assert alert.suggested_actions == [{"label": "Consider prasugrel or ticagrelor"}]
    assert alert.acted_at is None and alert.acted_by is None
    with tenant_session(database=ward.database, tenant=ward.tenant) as session:
        raised = session.execute(
            text("SELECT resource_id, patient_id FROM audit_events WHERE action = 'alert.raise'")
        ).one()
    assert tuple(raised) == (str(alert.id), ward.patient.id)


def test_raising_the_same_alert_twice_returns_the_open_one(ward: Ward) -> None:
    subject = uuid.uuid4()
    first = ward.alert(subject_id=subject)
    again = ward.alert(subject_id=subject, title="A second wording")
    assert again.id == first.id
    with tenant_session(database=ward.database, tenant=ward.tenant) as session:
        acknowledge(
            session=session,
            tenant_id=ward.tenant.id,
            alert_id=first.id,
            actor=actor_of(ward.physician),
        )
    assert ward.alert(subject_id=subject).id != first.id  # closed: a new occurrence opens


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"severity": "catastrophic"}, "severity"),
        ({"kind": "Critical Result"}, "kind"),
        ({"title": "  "}, "title"),
        ({"rationale": ""}, "rationale"),
        ({"rule_id": None}, "rule_version needs a rule_id"),
    ],
)
def test_malformed_alerts_are_refused(ward: Ward, fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        ward.alert(**fields)


def test_acknowledging_records_who_and_when_and_closes_the_alert_for_good(ward: Ward) -> None:
    alert = ward.alert()
    actor = actor_of(ward.physician)
    with tenant_session(database=ward.database, tenant=ward.tenant) as session:
        done = acknowledge(
            session=session, tenant_id=ward.tenant.id, alert_id=alert.id, actor=actor
        )
    assert (done.status, done.acted_by) == ("acknowledged", ward.physician.id)
    assert done.acted_at is not None
    with (
        pytest.raises(Conflict, match="already acknowledged"),
        tenant_session(database=ward.database, tenant=ward.tenant) as session,
    ):
        acknowledge(session=session, tenant_id=ward.tenant.id, alert_id=alert.id, actor=actor)
    with (
        pytest.raises(Conflict, match="already acknowledged"),
        tenant_session(database=ward.database, tenant=ward.tenant) as session,
    ):
        override(
            session=session, tenant_id=ward.tenant.id, alert_id=alert.id, reason="no", actor=actor
        )
    with tenant_session(database=ward.database, tenant=ward.tenant) as session:
        events = session.execute(
            text("SELECT actor_user_id, patient_id FROM audit_events WHERE action = :a"),
            {"a": "alert.acknowledge"},
        ).all()
    assert [tuple(e) for e in events] == [(ward.physician.id, ward.patient.id)]


def test_an_override_needs_a_reason_and_keeps_it(ward: Ward) -> None:
    alert = ward.alert()
    actor = actor_of(ward.physician)
    with (
        pytest.raises(InvalidInput, match="reason"),
        tenant_session(database=ward.database, tenant=ward.tenant) as session,
    ):
        override(
            session=session, tenant_id=ward.tenant.id, alert_id=alert.id, reason=" ", actor=actor
        )
    with tenant_session(database=ward.database, tenant=ward.tenant) as session:
        assert (
            find_alert(session=session, tenant_id=ward.tenant.id, alert_id=alert.id).status
            == "open"
        )
        done = override(
            session=session,
            tenant_id=ward.tenant.id,
            alert_id=alert.id,
            reason="Genotype result belongs to another patient",
            actor=actor,
        )
    assert (done.status, done.reason) == (
        "overridden",
        "Genotype result belongs to another patient",
    )


def test_the_database_keeps_closed_alerts_unchanged(ward: Ward) -> None:
    alert = ward.alert()
    with tenant_session(database=ward.database, tenant=ward.tenant) as session:
        for statement in (
            "UPDATE clinical_alerts SET title = 'edited' WHERE id = :id",  # open: only closes
            "UPDATE clinical_alerts SET status = 'overridden', acted_at = now(),"
            " acted_by = (SELECT id FROM users LIMIT 1) WHERE id = :id",  # no reason
            "DELETE FROM clinical_alerts WHERE id = :id",
        ):
            with pytest.raises(DBAPIError), session.begin_nested():
                session.execute(text(statement), {"id": alert.id})
        acknowledge(
            session=session,
            tenant_id=ward.tenant.id,
            alert_id=alert.id,
            actor=actor_of(ward.physician),
        )
    with (
        pytest.raises(DBAPIError, match="never changes"),
        tenant_session(database=ward.database, tenant=ward.tenant) as session,
    ):
        session.execute(
            text("UPDATE clinical_alerts SET status = 'open', acted_at = NULL WHERE id = :id"),
            {"id": alert.id},
        )


def test_two_clinicians_acknowledging_at_once_one_wins(ward: Ward) -> None:
    nurse = make_user(database=ward.database, tenant=ward.tenant, role=Role.NURSE)

    def act(user: User, alert_id: uuid.UUID, start: threading.Barrier, outcomes: list[str]) -> None:
        start.wait()
        try:
            with tenant_session(database=ward.database, tenant=ward.tenant) as session:
                acknowledge(
                    session=session,
                    tenant_id=ward.tenant.id,
                    alert_id=alert_id,
                    actor=actor_of(user),
                )
            outcomes.append("acknowledged")
        except Conflict:
            outcomes.append("conflict")

    for _ in range(5):
        alert, start = ward.alert(), threading.Barrier(2)
        outcomes: list[str] = []
        threads = [
            threading.Thread(target=act, args=(user, alert.id, start, outcomes))
            for user in (ward.physician, nurse)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["acknowledged", "conflict"]


def test_the_inbox_holds_the_open_alerts_of_the_users_practitioner(ward: Ward) -> None:
    mine = ward.alert(severity="warning")
    critical = ward.alert(severity="critical", kind="critical_result", subject_type="lab_result")
    other = make_practitioner(database=ward.database, tenant=ward.tenant)
    ward.alert(recipient_practitioner_id=other.id)
    unlinked = make_user(database=ward.database, tenant=ward.tenant, role=Role.PHYSICIAN)
    actor = actor_of(ward.physician)
    with tenant_session(database=ward.database, tenant=ward.tenant) as session:
        found = inbox(
            session=session, tenant_id=ward.tenant.id, user_id=ward.physician.id, actor=actor
        )
        assert [a.id for a in found] == [critical.id, mine.id]  # critical first
        nobody = inbox(session=session, tenant_id=ward.tenant.id, user_id=unlinked.id, actor=actor)
        assert nobody == []
        acknowledge(session=session, tenant_id=ward.tenant.id, alert_id=mine.id, actor=actor)
        still_open = inbox(
            session=session, tenant_id=ward.tenant.id, user_id=ward.physician.id, actor=actor
        )
        assert [a.id for a in still_open] == [critical.id]
        closed = inbox(
            session=session,
            tenant_id=ward.tenant.id,
            user_id=ward.physician.id,
            actor=actor,
            status="acknowledged",
        )
        assert [a.id for a in closed] == [mine.id]
        audited: Any = session.execute(
            text("SELECT DISTINCT patient_id FROM audit_events WHERE action = 'alert.inbox'")
        ).scalars()
        assert list(audited) == [ward.patient.id]


def test_a_patients_alerts_are_listed_and_the_read_audited(ward: Ward) -> None:
    ward.alert()
    ward.alert(patient_id=make_patient(database=ward.database, tenant=ward.tenant).id)
    with tenant_session(database=ward.database, tenant=ward.tenant) as session:
        found = alerts_of_patient(
            session=session, tenant_id=ward.tenant.id, patient_id=ward.patient.id, actor=SYSTEM
        )
        audited: Any = session.execute(
            text("SELECT patient_id FROM audit_events WHERE action = 'alert.list'")
        ).scalars()
        assert [a.patient_id for a in found] == [ward.patient.id]
        assert list(audited) == [ward.patient.id]
        with pytest.raises(InvalidInput):
            alerts_of_patient(
                session=session,
                tenant_id=ward.tenant.id,
                patient_id=ward.patient.id,
                actor=SYSTEM,
                status="snoozed",
            )


def test_resolving_closes_only_open_alerts_about_the_subjects(ward: Ward) -> None:
    subject = uuid.uuid4()
    alert = ward.alert(subject_id=subject)
    untouched = ward.alert()
    with tenant_session(database=ward.database, tenant=ward.tenant) as session:
        resolved = resolve_for_subjects(
            session=session,
            tenant_id=ward.tenant.id,
            subject_type="prescription",
            subject_ids=[subject],
            reason="prescription entered in error",
            actor=SYSTEM,
        )
        assert [a.id for a in resolved] == [alert.id]
        assert (
            resolved[0].acted_by is None and resolved[0].reason == "prescription entered in error"
        )
        assert (
            find_alert(session=session, tenant_id=ward.tenant.id, alert_id=untouched.id).status
            == "open"
        )


def test_another_tenant_cannot_find_or_act_on_an_alert(ward: Ward, database: Database) -> None:
    alert = ward.alert()
    other = make_tenant(database=database)
    stranger = make_user(database=database, tenant=other, role=Role.PHYSICIAN)
    with tenant_session(database=database, tenant=other) as session:
        with pytest.raises(NotFound):
            acknowledge(
                session=session, tenant_id=other.id, alert_id=alert.id, actor=actor_of(stranger)
            )
        with pytest.raises(NotFound):
            find_alert(session=session, tenant_id=ward.tenant.id, alert_id=alert.id)  # RLS too
