"""The billing API end to end: fee schedules, capture, invoices, claims, money, balances."""

import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.routers.claims import get_claim_gateway
from api.services import Services
from tests.conftest import CLIENT_ADDRESS
from tests.factories.billing import (
    DIABETES,
    HYPERTENSION,
    LEDGER_TABLES,
    VISIT,
    make_billing_clinic,
)
from tests.factories.identity import bearer, make_user
from tests.factories.scheduling import tenant_session
from transactional.audit.trail import SYSTEM
from transactional.billing.capture import capture_charges
from transactional.billing.claims import create_claim
from transactional.billing.gateway import OfflineClaimGateway
from transactional.charting.codes import CPT
from transactional.charting.procedures import NewProcedure
from transactional.database import Database
from transactional.identity.roles import Role
from transactional.settings import Settings

PROBLEM = "application/problem+json"
TODAY = datetime.now(UTC).date().isoformat()


class Office:
    """A billing clinic with signed-in staff and an inspectable claim gateway."""

    def __init__(self, client: TestClient, database: Database, app: FastAPI) -> None:
        self.client = client
        self.clinic = make_billing_clinic(database=database)
        self.gateway = OfflineClaimGateway()
        app.dependency_overrides[get_claim_gateway] = lambda: self.gateway
        tenant = self.clinic.tenant
        self.headers = {
            role: bearer(
                client, tenant=tenant, user=make_user(database=database, tenant=tenant, role=role)
            )
            for role in (Role.BILLING, Role.NURSE, Role.RECEPTIONIST)
        }
        self.billing = self.headers[Role.BILLING]

    def post(self, path: str, body: Any = None, *, status: int = 200, **kw: Any) -> Any:
        response = self.client.post(path, json=body, headers=kw.get("headers", self.billing))
        assert response.status_code == status, response.text
        return response.json()

    def get(self, path: str, *, status: int = 200, **kw: Any) -> Any:
        response = self.client.get(
            path, headers=kw.get("headers", self.billing), params=kw.get("params")
        )
        assert response.status_code == status, response.text
        return response.json()

    def captured(self, **encounter: Any) -> dict[str, Any]:
        result: dict[str, dict[str, Any]] = self.post(
            f"/api/v1/encounters/{self.clinic.encounter(**encounter).id}/charges", status=201
        )
        return result["invoice"]

    def claimed(self, invoice_id: str, *, accept: bool = True) -> dict[str, Any]:
        claim = self.post("/api/v1/claims", {"invoice_id": invoice_id}, status=201)
        claim = self.post(f"/api/v1/claims/{claim['id']}/submit")
        if accept:
            claim = self.post(f"/api/v1/claims/{claim['id']}/accept")
        result: dict[str, Any] = claim
        return result


@pytest.fixture
def office(client: TestClient, database: Database, app: FastAPI) -> Office:
    return Office(client, database, app)


def test_the_revenue_cycle_through_the_api(office: Office) -> None:
    clinic = office.clinic
    [current] = office.get("/api/v1/fee-schedules", params={"payer_id": str(clinic.payer.id)})
    ended = office.post(
        f"/api/v1/fee-schedules/{current['id']}/end", {"effective_to": "2030-12-31"}
    )
    assert ended["effective_to"] == "2030-12-31"
    schedule = office.post(
        "/api/v1/fee-schedules",
        {
            "name": "Acme 2031",
            "payer_id": str(clinic.payer.id),
            "effective_from": "2031-01-01",
            "fees": [{"code": {"system": "CPT", "code": "99213"}, "amount": "130.00"}],
        },
        status=201,
    )
    assert schedule["fees"] == [
        {"code": {"system": CPT, "code": "99213", "display": None}, "amount": "130.00"}
    ]
    encounter = clinic.encounter(
        procedures=(VISIT, NewProcedure(system=CPT, code="36415")),
        diagnoses=(DIABETES, HYPERTENSION),
    )
    captured = office.post(f"/api/v1/encounters/{encounter.id}/charges", status=201)
    invoice = captured["invoice"]
    assert (invoice["charges"], invoice["balance"], invoice["status"]) == (
        "140.00",
        "140.00",
        "open",
    )
    assert len(captured["created_charge_ids"]) == 2
    assert {c["amount"] for c in invoice["charge_lines"]} == {"125.00", "15.00"}
    again = office.post(f"/api/v1/encounters/{encounter.id}/charges")
    assert again["created_charge_ids"] == [] and again["invoice"]["id"] == invoice["id"]

    claim = office.post("/api/v1/claims", {"invoice_id": invoice["id"]}, status=201)
    assert (claim["status"], claim["frequency_code"], claim["total_charge"]) == (
        "draft",
        "1",
        "140.00",
    )
    assert [line["diagnosis_pointers"] for line in claim["lines"]] == [[1, 2], [1, 2]]
    submitted = office.post(f"/api/v1/claims/{claim['id']}/submit")
    assert submitted["status"] == "submitted" and submitted["tracking_id"].startswith("OFFLINE-")
    denied = office.post(
        f"/api/v1/claims/{claim['id']}/deny", {"reason_code": "CO-16", "remark_code": "MA130"}
    )
    assert (denied["status"], denied["denial_reason_code"]) == ("denied", "CO-16")
    replacement = office.post(f"/api/v1/claims/{claim['id']}/resubmit", status=201)
    assert (replacement["frequency_code"], replacement["original_claim_id"]) == ("7", claim["id"])
    office.post(f"/api/v1/claims/{replacement['id']}/accept", {"payer_claim_number": "PCN-1"})

    remittance = office.post(
        "/api/v1/remittances",
        {
            "payer_id": str(clinic.payer.id),
            "reference": "EFT-0001",
            "received_on": TODAY,
            "claims": [
                {
                    "claim_id": replacement["id"],
                    "paid": "100.00",
                    "adjustments": [
                        {"group_code": "CO", "reason_code": "45", "amount": "20.00"},
                        {"group_code": "PR", "reason_code": "2", "amount": "20.00"},
                    ],
                }
            ],
        },
        status=201,
    )
    assert remittance["paid"] == "100.00"
    assert remittance["claims"][0]["status"] == "paid"
    balance = office.get(f"/api/v1/patients/{clinic.patient.id}/balance")
    assert (balance["balance"], balance["patient_due"], balance["insurance_due"]) == (
        "20.00",
        "20.00",
        "0.00",
    )
    posted = office.post(
        "/api/v1/payments",
        {
            "invoice_id": invoice["id"],
            "source": "patient",
            "amount": "20.00",
            "posted_on": TODAY,
            "method": "card",
            "reference": "R-77",
        },
        status=201,
    )
    assert (posted["invoice"]["status"], posted["invoice"]["balance"]) == ("paid_in_full", "0.00")
    statement = office.get(f"/api/v1/patients/{clinic.patient.id}/statement")
    assert statement["balance"]["patient_due"] == "0.00"
    [listed] = statement["invoices"]
    assert sorted(p["amount"] for p in listed["payment_lines"]) == ["100.00", "20.00"]
    assert {a["reason_code"] for a in listed["adjustment_lines"]} == {"45", "2"}
    assert [b["bucket"] for b in statement["balance"]["aging"]] == [
        "0-30",
        "31-60",
        "61-90",
        "91-120",
        "over-120",
    ]
    paid = office.get("/api/v1/claims", params={"status": "paid", "payer_id": str(clinic.payer.id)})
    assert [c["id"] for c in paid["items"]] == [replacement["id"]]
    full = office.get(f"/api/v1/claims/{replacement['id']}")
    assert [e["action"] for e in full["events"]] == ["create", "submit", "accept", "remit"]
    assert [s["frequency_code"] for s in office.gateway.submissions] == ["1", "7"]


@pytest.mark.parametrize(
    "amount",
    ["-20.00", "12.345", "0.005", 12.5, 20, "1000000.01", "0.00", "1e2", "20,00", None, ""],
)
def test_amounts_must_be_positive_decimal_strings_of_whole_cents(
    office: Office, amount: object
) -> None:
    invoice = office.captured()
    before = office.clinic.count("payments")
    response = office.client.post(
        "/api/v1/payments",
        json={
            "invoice_id": invoice["id"],
            "source": "patient",
            "amount": amount,
            "posted_on": TODAY,
            "method": "cash",
        },
        headers=office.billing,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "urn:emr:problem:validation-error"
    assert [e["loc"] for e in problem["errors"]] == [["body", "amount"]]
    assert office.clinic.count("payments") == before


def test_refusals_are_problems_and_write_nothing(office: Office) -> None:
    clinic = office.clinic
    unfinished = clinic.encounter(finish=False)
    undiagnosed = clinic.encounter(diagnoses=())
    invoice = office.captured()
    draft = office.post("/api/v1/claims", {"invoice_id": invoice["id"]}, status=201)
    before = clinic.counts(*LEDGER_TABLES)
    for method, path, body, status, fragment in (
        ("POST", f"/api/v1/encounters/{unfinished.id}/charges", None, 409, "finished"),
        ("POST", f"/api/v1/encounters/{undiagnosed.id}/charges", None, 422, "diagnosis pointer"),
        ("POST", f"/api/v1/claims/{draft['id']}/accept", None, 409, "cannot accept"),
        ("POST", f"/api/v1/claims/{draft['id']}/deny", {"reason_code": "CO-16"}, 409, "draft"),
        ("POST", f"/api/v1/claims/{draft['id']}/resubmit", None, 409, "only a denied"),
        ("POST", f"/api/v1/claims/{draft['id']}/deny", {"reason_code": "CO16"}, 422, None),
        ("POST", f"/api/v1/invoices/{invoice['id']}/void", {"reason": ""}, 422, None),
        (
            "POST",
            "/api/v1/adjustments",
            {
                "invoice_id": invoice["id"],
                "kind": "patient_responsibility",
                "group_code": "CO",
                "reason_code": "45",
                "amount": "1.00",
                "posted_on": TODAY,
            },
            422,
            "group code PR",
        ),
        (
            "POST",
            "/api/v1/payments",
            {
                "invoice_id": invoice["id"],
                "source": "patient",
                "amount": "125.01",
                "posted_on": TODAY,
                "method": "cash",
            },
            409,
            "exceeds the invoice balance",
        ),
        (
            "POST",
            "/api/v1/remittances",
            {
                "payer_id": str(clinic.payer.id),
                "reference": "EFT-X",
                "received_on": TODAY,
                "claims": [{"claim_id": draft["id"], "paid": "10.00"}],
            },
            409,
            "claims[0]",
        ),
    ):
        response = office.client.request(method, path, json=body, headers=office.billing)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"] == PROBLEM
        if fragment is not None:
            assert fragment in response.json()["detail"], response.json()
    assert clinic.counts(*LEDGER_TABLES) == before


def test_payments_on_a_void_invoice_are_refused(office: Office) -> None:
    invoice = office.captured()
    voided = office.post(f"/api/v1/invoices/{invoice['id']}/void", {"reason": "Duplicate"})
    assert (voided["status"], voided["charges"], voided["void_reason"]) == (
        "void",
        "0.00",
        "Duplicate",
    )
    assert [c["status"] for c in voided["charge_lines"]] == ["void"]
    response = office.client.post(
        "/api/v1/payments",
        json={
            "invoice_id": invoice["id"],
            "source": "patient",
            "amount": "5.00",
            "posted_on": TODAY,
            "method": "cash",
        },
        headers=office.billing,
    )
    assert response.status_code == 409 and "void" in response.json()["detail"]
    assert office.clinic.count("payments") == 0


def test_a_remittance_with_one_invalid_claim_is_refused_whole(office: Office) -> None:
    first = office.claimed(office.captured()["id"])
    second = office.claimed(office.captured()["id"])
    before = office.clinic.counts(*LEDGER_TABLES)
    body = {
        "payer_id": str(office.clinic.payer.id),
        "reference": "EFT-WHOLE",
        "received_on": TODAY,
        "claims": [
            {"claim_id": first["id"], "paid": "125.00"},
            {
                "claim_id": second["id"],
                "paid": "100.00",
                "adjustments": [{"group_code": "CO", "reason_code": "45", "amount": "30.00"}],
            },
        ],
    }
    response = office.client.post("/api/v1/remittances", json=body, headers=office.billing)
    assert response.status_code == 409
    assert response.json()["detail"].startswith("claims[1]: ")
    assert office.clinic.counts(*LEDGER_TABLES) == before
    body["claims"][1]["adjustments"][0]["amount"] = "25.00"  # type: ignore[index]
    posted = office.post("/api/v1/remittances", body, status=201)
    assert [c["status"] for c in posted["claims"]] == ["paid", "paid"]
    duplicate = office.client.post("/api/v1/remittances", json=body, headers=office.billing)
    assert duplicate.status_code == 409 and "already posted" in duplicate.json()["detail"]


def test_billing_needs_billing_permissions(office: Office) -> None:
    clinic = office.clinic
    nurse, desk = office.headers[Role.NURSE], office.headers[Role.RECEPTIONIST]
    nothing = office.client.get(f"/api/v1/patients/{clinic.patient.id}/balance", headers=desk)
    assert (nothing.json()["balance"], nothing.json()["patient_due"]) == ("0.00", "0.00")
    encounter = clinic.encounter()
    path = f"/api/v1/encounters/{encounter.id}/charges"
    assert office.client.post(path, headers=nurse).status_code == 403
    invoice = office.post(path, status=201)["invoice"]
    balance = office.client.get(f"/api/v1/patients/{clinic.patient.id}/balance", headers=desk)
    assert balance.status_code == 200 and balance.json()["balance"] == "125.00"
    payment = {
        "invoice_id": invoice["id"],
        "source": "patient",
        "amount": "5.00",
        "posted_on": TODAY,
        "method": "cash",
    }
    assert office.client.post("/api/v1/payments", json=payment, headers=desk).status_code == 403
    assert office.client.get(f"/api/v1/invoices/{invoice['id']}", headers=nurse).status_code == 403
    assert (
        office.client.post(
            "/api/v1/claims", json={"invoice_id": invoice["id"]}, headers=desk
        ).status_code
        == 403
    )


def test_another_tenants_billing_records_are_not_found(office: Office, database: Database) -> None:
    theirs = make_billing_clinic(database=database)
    with tenant_session(database=database, tenant=theirs.tenant) as session:
        captured = capture_charges(
            session=session,
            tenant_id=theirs.tenant.id,
            encounter_id=theirs.encounter().id,
            actor=SYSTEM,
        )
        claim = create_claim(
            session=session,
            tenant_id=theirs.tenant.id,
            invoice_id=captured.invoice.id,
            actor=SYSTEM,
        ).claim
    invoice_id, charge_id = captured.invoice.id, captured.created[0].id
    for method, path, body in (
        ("GET", f"/api/v1/invoices/{invoice_id}", None),
        ("POST", f"/api/v1/invoices/{invoice_id}/void", {"reason": "x"}),
        ("POST", f"/api/v1/charges/{charge_id}/void", {"reason": "x"}),
        ("GET", f"/api/v1/claims/{claim.id}", None),
        ("POST", f"/api/v1/claims/{claim.id}/submit", None),
        ("GET", f"/api/v1/patients/{theirs.patient.id}/balance", None),
        ("GET", f"/api/v1/patients/{theirs.patient.id}/statement", None),
        (
            "POST",
            "/api/v1/payments",
            {
                "invoice_id": str(invoice_id),
                "source": "patient",
                "amount": "1.00",
                "posted_on": TODAY,
                "method": "cash",
            },
        ),
    ):
        response = office.client.request(method, path, json=body, headers=office.billing)
        assert response.status_code == 404, (path, response.text)
    assert office.get("/api/v1/claims")["items"] == []
    assert theirs.counts("payments", "claims") == {"payments": 0, "claims": 1}
    assert office.gateway.submissions == []


@pytest.fixture
def unreachable_app(settings: Settings, database: Database) -> Iterator[TestClient]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configured = settings.model_copy(
        update={
            "claim_gateway_url": f"http://127.0.0.1:{port}/claims",
            "claim_gateway_timeout_seconds": 2,
        }
    )
    app = create_app(configured, services=Services.build(configured, database=database))
    with TestClient(app, client=CLIENT_ADDRESS, raise_server_exceptions=False) as client:
        yield client


def test_a_gateway_failure_is_a_502_problem_and_the_claim_stays_a_draft(
    unreachable_app: TestClient, database: Database
) -> None:
    clinic = make_billing_clinic(database=database)
    headers = bearer(
        unreachable_app,
        tenant=clinic.tenant,
        user=make_user(database=database, tenant=clinic.tenant, role=Role.BILLING),
    )
    encounter = clinic.encounter()
    invoice = unreachable_app.post(
        f"/api/v1/encounters/{encounter.id}/charges", headers=headers
    ).json()["invoice"]
    claim = unreachable_app.post(
        "/api/v1/claims", json={"invoice_id": invoice["id"]}, headers=headers
    ).json()
    response = unreachable_app.post(f"/api/v1/claims/{claim['id']}/submit", headers=headers)
    assert response.status_code == 502
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "urn:emr:problem:claim-gateway-error"
    assert problem["detail"] == "the claim gateway could not be reached"
    assert "127.0.0.1" not in response.text and "Traceback" not in response.text
    after = unreachable_app.get(f"/api/v1/claims/{claim['id']}", headers=headers).json()
    assert (after["status"], after["tracking_id"]) == ("draft", None)
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        outcome: Any = (
            session.execute(text("SELECT outcome FROM audit_events WHERE action = 'claim.submit'"))
            .scalars()
            .all()
        )
    assert outcome == ["failure"]


def test_financial_reads_are_audited_with_the_patient(office: Office) -> None:
    clinic = office.clinic
    claim = office.claimed(office.captured()["id"], accept=False)
    office.get(f"/api/v1/invoices/{claim['invoice_id']}")
    office.get(f"/api/v1/claims/{claim['id']}")
    office.get("/api/v1/claims")
    office.get(f"/api/v1/patients/{clinic.patient.id}/balance")
    office.get(f"/api/v1/patients/{clinic.patient.id}/statement")
    with tenant_session(database=office.clinic.database, tenant=clinic.tenant) as session:
        events = session.execute(
            text(
                "SELECT action, patient_id, client_address FROM audit_events "
                "WHERE action LIKE 'invoice.%' OR action LIKE 'claim.%' OR action LIKE 'charge.%' "
                "OR action IN ('balance.read', 'statement.read')"
            )
        ).all()
    actions = {row.action for row in events}
    assert {
        "charge.capture",
        "claim.create",
        "claim.submit",
        "invoice.read",
        "claim.read",
        "claim.list",
        "balance.read",
        "statement.read",
    } <= actions
    assert {row.patient_id for row in events} == {clinic.patient.id}
    assert {str(row.client_address) for row in events} == {CLIENT_ADDRESS[0]}


def test_openapi_documents_billing_and_its_money_format(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path, method in (
        ("/api/v1/fee-schedules", "post"),
        ("/api/v1/encounters/{encounter_id}/charges", "post"),
        ("/api/v1/invoices/{invoice_id}", "get"),
        ("/api/v1/invoices/{invoice_id}/void", "post"),
        ("/api/v1/claims", "post"),
        ("/api/v1/claims", "get"),
        ("/api/v1/claims/{claim_id}/submit", "post"),
        ("/api/v1/claims/{claim_id}/accept", "post"),
        ("/api/v1/claims/{claim_id}/deny", "post"),
        ("/api/v1/claims/{claim_id}/resubmit", "post"),
        ("/api/v1/payments", "post"),
        ("/api/v1/adjustments", "post"),
        ("/api/v1/remittances", "post"),
        ("/api/v1/patients/{patient_id}/balance", "get"),
        ("/api/v1/patients/{patient_id}/statement", "get"),
    ):
        assert method in paths[path], path
    amount = spec["components"]["schemas"]["PaymentIn"]["properties"]["amount"]
    assert amount["type"] == "string" and amount["examples"] == ["125.50"]
    assert "502" in paths["/api/v1/claims/{claim_id}/submit"]["post"]["responses"]


def test_a_claim_of_an_unknown_invoice_is_not_found(office: Office) -> None:
    response = office.client.post(
        "/api/v1/claims", json={"invoice_id": str(uuid.uuid4())}, headers=office.billing
    )
    assert response.status_code == 404
    assert office.clinic.count("claims") == 0
