"""The risk-score API on hand-made records: on-demand scores stored and returned, missing
inputs named or refused, no peeking past the index instant, permissions, tenants, audit, and
a tampered model file refused."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.services import Services
from ml.features.record import NotApplicable, t2d_unit
from ml.features.spec import INCIDENT_T2D, READMISSION_30D
from ml.registry import Registry
from tests.conftest import CLIENT_ADDRESS
from tests.factories.identity import bearer, make_tenant, make_user
from tests.factories.orders import HBA1C, numeric, resulted_order
from tests.factories.patients import make_patient
from tests.factories.scheduling import make_practitioner
from tests.ml.synthetic import register_synthetic
from transactional.audit.models import AuditEvent
from transactional.audit.trail import SYSTEM
from transactional.charting.conditions import NewCondition, add_problem
from transactional.charting.encounters import NewEncounter, discharge, open_encounter
from transactional.charting.vitals import HEIGHT, WEIGHT, Measurement, record_vitals
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.identity.roles import Role
from transactional.patients.models import Patient
from transactional.providers.models import Practitioner
from transactional.settings import Settings
from transactional.tenancy import bind_tenant

LOINC = "http://loinc.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


@dataclass(frozen=True)
class Clinic:
    tenant: Tenant
    practitioner: Practitioner
    physician: dict[str, str]
    receptionist: dict[str, str]


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("risk-api")
    register_synthetic(Registry(root / "models"))
    return root


@pytest.fixture
def client(database: Database, base_settings: Settings, state: Path) -> Iterator[TestClient]:
    settings = base_settings.model_copy(update={"state_dir": state})
    app = create_app(settings, services=Services.build(settings, database=database))
    with TestClient(app, client=CLIENT_ADDRESS, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def clinic(client: TestClient, database: Database) -> Clinic:
    tenant = make_tenant(database=database)
    return Clinic(
        tenant=tenant,
        practitioner=make_practitioner(database=database, tenant=tenant),
        physician=bearer(
            client,
            tenant=tenant,
            user=make_user(database=database, tenant=tenant, role=Role.PHYSICIAN),
        ),
        receptionist=bearer(
            client,
            tenant=tenant,
            user=make_user(database=database, tenant=tenant, role=Role.RECEPTIONIST),
        ),
    )


def _visit(
    database: Database, clinic: Clinic, patient: Patient, *, start: datetime, kind: str
) -> uuid.UUID:
    with database.transaction() as session:
        bind_tenant(session, clinic.tenant.id)
        return open_encounter(
            session=session,
            tenant_id=clinic.tenant.id,
            data=NewEncounter(
                patient_id=patient.id,
                practitioner_id=clinic.practitioner.id,
                encounter_class=kind,
                start_at=start,
            ),
            actor=SYSTEM,
        ).id


def _weigh(
    database: Database, clinic: Clinic, encounter: uuid.UUID, *, kg: str, at: datetime
) -> None:
    with database.transaction() as session:
        bind_tenant(session, clinic.tenant.id)
        record_vitals(
            session=session,
            tenant_id=clinic.tenant.id,
            encounter_id=encounter,
            measurements=[
                Measurement(LOINC, HEIGHT, Decimal("170"), "cm", at),
                Measurement(LOINC, WEIGHT, Decimal(kg), "kg", at),
            ],
            actor=SYSTEM,
        )


def _problem(database: Database, clinic: Clinic, patient: Patient, code: str, onset: date) -> None:
    with database.transaction() as session:
        bind_tenant(session, clinic.tenant.id)
        add_problem(
            session=session,
            tenant_id=clinic.tenant.id,
            patient_id=patient.id,
            data=NewCondition(system=ICD10CM, code=code, onset_date=onset),
            actor=SYSTEM,
        )


def _audit_actions(database: Database, tenant: Tenant, patient: Patient) -> list[str]:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return list(
            session.scalars(
                select(AuditEvent.action + ":" + AuditEvent.outcome)
                .where(AuditEvent.tenant_id == tenant.id, AuditEvent.patient_id == patient.id)
                .order_by(AuditEvent.occurred_at)
            )
        )


def test_an_on_demand_score_is_stored_returned_and_names_what_was_missing(
    client: TestClient, database: Database, clinic: Clinic
) -> None:
    patient = make_patient(
        database=database, tenant=clinic.tenant, birth_date=date(1966, 3, 1), sex="male"
    )
    now = datetime.now(UTC)
    visit = _visit(database, clinic, patient, start=now - timedelta(days=20), kind="ambulatory")
    _weigh(database, clinic, visit, kg="95", at=now - timedelta(days=20))
    _problem(database, clinic, patient, "I10", date(2020, 5, 1))
    url = f"/api/v1/patients/{patient.id}/risk-scores"
    assert client.get(url, headers=clinic.physician).json() == {"items": []}

    computed = client.post(url, headers=clinic.physician)
    assert computed.status_code == 201, computed.text
    body = computed.json()
    (item,) = body["items"]
    assert body["not_scored"] == [
        {"model": READMISSION_30D.name, "reason": "no inpatient stay", "missing_inputs": []}
    ]
    assert item["model"] == INCIDENT_T2D.name and item["version"] == "1"
    assert 0 < item["score"] < 1 and item["tier"] in ("low", "medium", "high")
    assert item["missing_inputs"] == ["race", "ethnicity", "hba1c"]
    assert item["source"] == "on_demand" and item["index_date"] == str(now.date())
    # Each factor shows the recorded input behind it; largest positive contribution first.
    recorded = {
        "age_years": pytest.approx((now.date() - date(1966, 3, 1)).days / 365.25, abs=1e-3),
        "sex": "male",
        "race": None,
        "ethnicity": None,
        "bmi": 32.9,
        "hba1c": None,
        "has_hypertension": True,
        "has_hyperlipidemia": False,
    }
    sources = {f.name: f.source for f in INCIDENT_T2D.features}
    assert item["factors"]
    for factor in item["factors"]:
        assert factor["value"] == recorded[sources[factor["name"]]]
    contributions = [f["contribution"] for f in item["factors"]]
    assert contributions == sorted(contributions, reverse=True) and min(contributions) > 0

    current = client.get(url, headers=clinic.physician)
    assert current.status_code == 200
    assert current.json()["items"] == [item]
    assert _audit_actions(database, clinic.tenant, patient)[-2:] == [
        "risk_score.compute:success",
        "risk_score.list:success",
    ]


def test_a_named_model_that_cannot_score_is_refused_with_the_missing_inputs(
    client: TestClient, database: Database, clinic: Clinic
) -> None:
    patient = make_patient(database=database, tenant=clinic.tenant, birth_date=date(1948, 7, 9))
    admitted = datetime.now(UTC) - timedelta(days=4)
    stay = _visit(database, clinic, patient, start=admitted, kind="inpatient")
    url = f"/api/v1/patients/{patient.id}/risk-scores"

    refused = client.post(url, params={"model": READMISSION_30D.name}, headers=clinic.physician)
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"] == "urn:emr:problem:risk-score-refused"
    assert problem["missing_inputs"] == ["length_of_stay_days", "discharge_disposition"]
    assert client.get(url, headers=clinic.physician).json() == {"items": []}
    assert "risk_score.compute:failure" in _audit_actions(database, clinic.tenant, patient)

    with database.transaction() as session:
        bind_tenant(session, clinic.tenant.id)
        discharge(
            session=session,
            tenant_id=clinic.tenant.id,
            encounter_id=stay,
            disposition="skilled_nursing_facility",
            actor=SYSTEM,
        )
    scored = client.post(url, params={"model": READMISSION_30D.name}, headers=clinic.physician)
    assert scored.status_code == 201, scored.text
    (item,) = scored.json()["items"]
    assert item["encounter_id"] == str(stay) and item["missing_inputs"] == []
    assert "discharged_to_snf" in {f["name"] for f in item["factors"]}

    child = make_patient(database=database, tenant=clinic.tenant, birth_date=date(2015, 1, 1))
    outside = client.post(
        f"/api/v1/patients/{child.id}/risk-scores",
        params={"model": INCIDENT_T2D.name},
        headers=clinic.physician,
    )
    assert outside.status_code == 422
    assert "adults" in outside.json()["detail"]
    unknown = client.post(url, params={"model": "astrology"}, headers=clinic.physician)
    assert unknown.status_code == 422


def test_inputs_recorded_after_the_index_instant_are_not_read(
    database: Database, clinic: Clinic
) -> None:
    patient = make_patient(database=database, tenant=clinic.tenant, birth_date=date(1970, 1, 1))
    now = datetime.now(UTC)
    before = now - timedelta(days=10)
    first = _visit(database, clinic, patient, start=before, kind="ambulatory")
    _weigh(database, clinic, first, kg="72", at=before)
    second = _visit(database, clinic, patient, start=now - timedelta(minutes=2), kind="ambulatory")
    _weigh(database, clinic, second, kg="101", at=now - timedelta(minutes=2))
    resulted_order(
        database=database,
        tenant=clinic.tenant,
        patient=patient,
        practitioner=clinic.practitioner,
        entries=[numeric(HBA1C, "6.3", "%")],
        code=HBA1C,
    )
    _problem(database, clinic, patient, "E78.5", now.date())
    with database.transaction() as session:
        bind_tenant(session, clinic.tenant.id)
        found = session.get_one(Patient, patient.id)
        earlier = t2d_unit(
            session=session,
            tenant_id=clinic.tenant.id,
            patient=found,
            at=before + timedelta(hours=1),
        ).values
        later = t2d_unit(
            session=session,
            tenant_id=clinic.tenant.id,
            patient=found,
            at=datetime.now(UTC) + timedelta(seconds=1),
        ).values
        _problem_t2d = NewCondition(system=ICD10CM, code="E11.9", onset_date=now.date())
        add_problem(
            session=session,
            tenant_id=clinic.tenant.id,
            patient_id=patient.id,
            data=_problem_t2d,
            actor=SYSTEM,
        )
        with pytest.raises(NotApplicable, match="already on the problem list"):
            t2d_unit(
                session=session,
                tenant_id=clinic.tenant.id,
                patient=found,
                at=datetime.now(UTC) + timedelta(seconds=1),
            )
        assert (
            t2d_unit(
                session=session,
                tenant_id=clinic.tenant.id,
                patient=found,
                at=before + timedelta(hours=1),
            ).values
            == earlier
        )
    assert earlier["bmi"] == pytest.approx(24.9) and earlier["hba1c"] is None
    assert earlier["has_hyperlipidemia"] is False
    assert later["bmi"] == pytest.approx(34.9) and later["hba1c"] == pytest.approx(6.3)
    assert later["has_hyperlipidemia"] is True


def test_receptionists_are_denied_and_other_tenants_get_404(
    client: TestClient, database: Database, clinic: Clinic
) -> None:
    patient = make_patient(database=database, tenant=clinic.tenant, birth_date=date(1960, 1, 1))
    url = f"/api/v1/patients/{patient.id}/risk-scores"
    assert client.get(url, headers=clinic.receptionist).status_code == 403
    assert client.post(url, headers=clinic.receptionist).status_code == 403
    other = make_tenant(database=database)
    stranger = bearer(
        client, tenant=other, user=make_user(database=database, tenant=other, role=Role.PHYSICIAN)
    )
    assert client.get(url, headers=stranger).status_code == 404
    assert client.post(url, headers=stranger).status_code == 404
    assert client.get(url, headers=clinic.physician).status_code == 200


def test_a_tampered_model_file_is_refused(
    client: TestClient, database: Database, clinic: Clinic, state: Path
) -> None:
    patient = make_patient(database=database, tenant=clinic.tenant, birth_date=date(1960, 1, 1))
    model_file = state / "models" / INCIDENT_T2D.name / "1" / "model.skops"
    original = model_file.read_bytes()
    model_file.write_bytes(original + b"\0")
    try:
        response = client.post(
            f"/api/v1/patients/{patient.id}/risk-scores", headers=clinic.physician
        )
    finally:
        model_file.write_bytes(original)
    assert response.status_code == 503
    assert response.json()["type"] == "urn:emr:problem:model-unavailable"
    assert "does not match the SHA-256" in response.json()["detail"]
