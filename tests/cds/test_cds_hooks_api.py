"""CDS Hooks 2.0 over HTTP: discovery and card responses checked field by field against the
specification's shapes, authentication, tenancy, errors as problem+json, and audit."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.cds.ward import CLOPIDOGREL_TABLET, POOR, Ward
from tests.factories.identity import bearer, make_tenant, make_user
from tests.factories.patients import make_patient
from tests.factories.scheduling import tenant_session
from transactional.database import Database
from transactional.identity.roles import Role

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
INDICATORS = {"info", "warning", "critical"}
CARD_FIELDS = {
    "uuid",
    "summary",
    "detail",
    "indicator",
    "source",
    "suggestions",
    "selectionBehavior",
    "overrideReasons",
    "links",
    "extension",
}


def _no_null_or_empty(value: Any, where: str = "$") -> None:
    """CDS Hooks: JSON elements are never null or empty; optional ones are omitted."""
    assert value is not None and value not in ("", [], {}), where
    if isinstance(value, dict):
        for name, item in value.items():
            _no_null_or_empty(item, f"{where}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_null_or_empty(item, f"{where}[{index}]")


def _coding(coding: dict[str, Any], *, display_required: bool) -> None:
    assert set(coding) <= {"system", "code", "display"}
    assert isinstance(coding["code"], str) and isinstance(coding["system"], str)
    if display_required:
        assert isinstance(coding["display"], str)


def assert_card(card: dict[str, Any]) -> None:
    """One card against the CDS Hooks 2.0 card attributes."""
    assert set(card) <= CARD_FIELDS
    uuid.UUID(card["uuid"])
    assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140
    assert card["indicator"] in INDICATORS
    source = card["source"]
    assert set(source) <= {"label", "url", "icon", "topic"}
    assert isinstance(source["label"], str)
    if "url" in source:
        assert source["url"].startswith("https://")
    if "topic" in source:
        _coding(source["topic"], display_required=False)
    if "detail" in card:
        assert isinstance(card["detail"], str)
    assert ("suggestions" in card) == ("selectionBehavior" in card)
    for suggestion in card.get("suggestions", []):
        assert set(suggestion) <= {"label", "uuid", "isRecommended", "actions"}
        assert isinstance(suggestion["label"], str)
        uuid.UUID(suggestion["uuid"])
        for action in suggestion.get("actions", []):
            assert set(action) <= {"type", "description", "resource", "resourceId"}
            assert action["type"] in {"create", "update", "delete"}
            assert isinstance(action["description"], str)
            if action["type"] == "delete":
                assert isinstance(action["resourceId"], str)
    if "selectionBehavior" in card:
        assert card["selectionBehavior"] in {"at-most-one", "any"}
    for reason in card.get("overrideReasons", []):
        _coding(reason, display_required=True)
    for link in card.get("links", []):
        assert set(link) <= {"label", "url", "type", "appContext"}
        assert link["type"] in {"absolute", "smart"}


def assert_cards(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert set(body) <= {"cards", "systemActions"}
    assert isinstance(body["cards"], list)
    for card in body["cards"]:
        _no_null_or_empty(card)
        assert_card(card)
    uuids = [c["uuid"] for c in body["cards"]]
    assert len(set(uuids)) == len(uuids)
    cards: list[dict[str, Any]] = body["cards"]
    return cards


class Hooks:
    def __init__(self, client: TestClient, database: Database) -> None:
        self.client = client
        self.ward = Ward(database)
        self.headers = bearer(client, tenant=self.ward.tenant, user=self.ward.physician)

    def call(
        self,
        service: str,
        hook: str,
        *,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> Any:
        body = {
            "hook": hook,
            "hookInstance": str(uuid.uuid4()),
            "context": {
                "userId": f"Practitioner/{self.ward.practitioner.id}",
                "patientId": str(self.ward.patient.id),
            }
            | context,
        }
        return self.client.post(
            f"/cds-services/{service}",
            json=body,
            headers=self.headers if headers is None else headers,
        )

    def patient_view(self, **context: Any) -> Any:
        return self.call("patient-alerts", "patient-view", **context)

    def order_select(self, drafts: dict[str, str], selections: list[str]) -> Any:
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "resource": {
                        "resourceType": "MedicationRequest",
                        "id": draft_id,
                        "status": "draft",
                        "intent": "order",
                        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code}]},
                        "subject": {"reference": f"Patient/{self.ward.patient.id}"},
                    }
                }
                for draft_id, code in drafts.items()
            ],
        }
        return self.call(
            "medication-safety", "order-select", selections=selections, draftOrders=bundle
        )


@pytest.fixture
def hooks(client: TestClient, database: Database) -> Hooks:
    return Hooks(client, database)


def test_discovery_lists_the_services_in_the_cds_hooks_shape(hooks: Hooks) -> None:
    response = hooks.client.get("/cds-services", headers=hooks.headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"services"}
    _no_null_or_empty(body)
    for service in body["services"]:
        assert set(service) <= {
            "hook",
            "title",
            "description",
            "id",
            "prefetch",
            "usageRequirements",
        }
        assert all(isinstance(service[f], str) for f in ("hook", "title", "description", "id"))
    assert {(s["id"], s["hook"]) for s in body["services"]} == {
        ("patient-alerts", "patient-view"),
        ("medication-safety", "order-select"),
    }
    anonymous = hooks.client.get("/cds-services")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"


def test_patient_view_shows_open_alerts_and_live_rules_once_each(hooks: Hooks) -> None:
    ward = hooks.ward
    encounter = ward.encounter("emergency")
    ward.vitals(encounter, minutes=5, systolic=184, diastolic=96, respiratory_rate=25)
    crisis = ward.alerts("hypertensive_crisis")[0]
    news2 = ward.alerts("news2")[0]
    response = hooks.patient_view(encounterId=str(encounter.id))
    assert response.status_code == 200
    cards = assert_cards(response.json())
    by_summary = {c["summary"]: c for c in cards}
    assert set(by_summary) == {crisis.title, news2.title}  # the live NEWS2 is the open one
    card = by_summary[crisis.title]
    assert cards[0] is card and card["indicator"] == "critical"
    assert card["source"]["label"] == "2017 ACC/AHA high blood pressure guideline"
    assert card["source"]["topic"]["code"] == "vitals.hypertensive_crisis"
    assert card["extension"]["emr.alert"]["id"] == str(crisis.id)
    assert "**Data used**" in card["detail"] and "8480-6" in card["detail"]
    assert {r["code"] for r in card["overrideReasons"]} >= {"measurement-error"}
    assert "cds.hook" in ward.audit_actions()


def test_patient_view_evaluates_the_current_encounter_without_recording(hooks: Hooks) -> None:
    ward = hooks.ward
    encounter = ward.encounter("inpatient")
    ward.vitals(encounter, minutes=5, respiratory_rate=21, heart_rate=85)  # NEWS2 2, low
    assert ward.alerts() == []
    cards = assert_cards(hooks.patient_view().json())
    (card,) = cards
    assert card["indicator"] == "info"
    assert card["summary"] == "NEWS2 2 (partial): low clinical risk"
    assert card["source"]["url"].startswith("https://www.rcp.ac.uk/")
    assert "extension" not in card
    assert ward.alerts() == []


def test_order_select_checks_the_selected_drafts(hooks: Hooks) -> None:
    ward = hooks.ward
    ward.phenotype(POOR)
    ward.prescribe("7646", dose="20 mg")  # omeprazole
    before = len(ward.alerts())
    response = hooks.order_select(
        {"d1": CLOPIDOGREL_TABLET, "d2": "83367", "d3": "999999999"},
        selections=["MedicationRequest/d1", "MedicationRequest/d3"],
    )
    assert response.status_code == 200
    cards = assert_cards(response.json())
    pgx = next(c for c in cards if c["source"]["topic"]["code"] == "pgx.cyp2c19.clopidogrel")
    assert pgx["indicator"] == "critical"
    assert pgx["summary"].startswith("CYP2C19 poor metabolizer")
    assert pgx["selectionBehavior"] == "at-most-one"
    (suggestion,) = pgx["suggestions"]
    assert suggestion["actions"] == [
        {
            "type": "delete",
            "description": "Remove the draft order for Clopidogrel 75 MG Oral Tablet",
            "resourceId": "MedicationRequest/d1",
        }
    ]
    interaction = next(c for c in cards if c["summary"].startswith("Interaction"))
    assert interaction["indicator"] == "warning" and "omeprazole" in interaction["summary"]
    unchecked = next(c for c in cards if "did not run" in c["summary"])
    assert unchecked["indicator"] == "warning" and "MedicationRequest/d3" in unchecked["summary"]
    assert len(cards) == 3  # nothing about the unselected atorvastatin
    assert cards[0]["indicator"] == "critical"
    assert len(ward.alerts()) == before  # a hook call records nothing but its audit


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].startswith("urn:emr:problem:")
    return body


def test_unknown_services_and_malformed_calls_are_problems(hooks: Hooks) -> None:
    assert _problem(hooks.call("no-such-service", "patient-view"), 404)["type"].endswith(
        "not-found"
    )
    assert (
        "answers the patient-view hook"
        in _problem(
            hooks.call(
                "patient-alerts",
                "order-select",
                selections=[],
                draftOrders={"resourceType": "Bundle"},
            ),
            422,
        )["detail"]
    )
    _problem(hooks.call("medication-safety", "order-select"), 422)  # no drafts or selections
    _problem(hooks.order_select({"d1": CLOPIDOGREL_TABLET}, ["MedicationRequest/zz"]), 422)
    raw = hooks.client.post(
        "/cds-services/patient-alerts",
        content=b"{not json",
        headers=hooks.headers | {"content-type": "application/json"},
    )
    assert _problem(raw, 400)["type"].endswith("malformed-json")
    missing_context = hooks.client.post(
        "/cds-services/patient-alerts",
        json={"hook": "patient-view", "hookInstance": "x"},
        headers=hooks.headers,
    )
    _problem(missing_context, 422)


def test_another_tenants_patient_is_not_found(hooks: Hooks, database: Database) -> None:
    other = make_tenant(database=database)
    stranger = make_patient(database=database, tenant=other)
    assert _problem(hooks.patient_view(patientId=str(stranger.id)), 404)["detail"] == (
        "patient not found"
    )
    _problem(hooks.patient_view(patientId="not-a-uuid"), 404)
    elsewhere = Ward(database)
    visit = elsewhere.encounter("emergency")
    _problem(hooks.patient_view(encounterId=str(visit.id)), 404)
    with tenant_session(database=database, tenant=other) as session:
        audited: int = session.execute(
            text("SELECT count(*) FROM audit_events WHERE action = 'cds.hook'")
        ).scalar_one()
    assert audited == 0


def test_calls_need_a_clinician_who_may_read_charts(hooks: Hooks, database: Database) -> None:
    desk = bearer(
        hooks.client,
        tenant=hooks.ward.tenant,
        user=make_user(database=database, tenant=hooks.ward.tenant, role=Role.RECEPTIONIST),
    )
    _problem(hooks.call("patient-alerts", "patient-view", headers=desk), 403)
    _problem(hooks.call("patient-alerts", "patient-view", headers={}), 401)
