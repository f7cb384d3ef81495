"""The claim gateway: the offline implementation, the factory, and the real HTTP client
against a stand-in clearinghouse on 127.0.0.1 (http.server in a thread)."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from tests.factories.billing import BillingClinic, make_billing_clinic
from tests.factories.scheduling import tenant_session
from transactional.audit.models import AuditEvent
from transactional.audit.trail import SYSTEM
from transactional.billing.capture import capture_charges
from transactional.billing.claims import create_claim, deny_claim, resubmit_claim, submit_claim
from transactional.billing.gateway import (
    GatewayError,
    OfflineClaimGateway,
    Receipt,
    claim_gateway,
)
from transactional.billing.http_gateway import HttpClaimGateway
from transactional.billing.models import Claim, ClaimEvent
from transactional.database import Database
from transactional.settings import Settings

CLAIM = {
    "submission_id": "3f1c2a4e-0000-4000-8000-000000000001",
    "patient": {"family_name": "Sentinelname", "birth_date": "1970-05-17"},
    "lines": [{"line": 1, "procedure": {"code": "99213"}, "charge": "125.00"}],
}


@dataclass
class Clearinghouse:
    """What the stand-in received, and the base URL it listens on."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    house: Clearinghouse

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.house.requests.append(
            {
                "path": self.path,
                "content_type": self.headers["Content-Type"],
                "idempotency_key": self.headers["Idempotency-Key"],
                "body": json.loads(body),
            }
        )
        if self.path == "/slow":
            time.sleep(1.0)
        status, answer = {
            "/claims": (202, b'{"tracking_id": "CH-2026-000042"}'),
            "/refuse": (503, b'{"error": "Sentinelname is down"}'),
            "/garbage": (200, b"<html>Sentinelname</html>"),
            "/no-id": (200, b'{"status": "ok"}'),
            "/bad-id": (200, b'{"tracking_id": "has spaces and Sentinelname"}'),
            "/slow": (200, b'{"tracking_id": "LATE"}'),
        }[self.path]
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except OSError:
            pass  # the client gave up (timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def clearinghouse() -> Iterator[Clearinghouse]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    house = Clearinghouse(url=f"http://127.0.0.1:{server.server_address[1]}")
    _Handler.house = house
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield house
    server.shutdown()
    server.server_close()
    thread.join()


def test_offline_gateway_is_deterministic_and_records_submissions() -> None:
    gateway = OfflineClaimGateway()
    first = gateway.submit(CLAIM)
    assert first == gateway.submit(dict(CLAIM))
    assert first.tracking_id.startswith("OFFLINE-") and len(first.tracking_id) == 28
    assert gateway.submit(CLAIM | {"submission_id": "other"}) != first
    assert gateway.submissions[0] == CLAIM and len(gateway.submissions) == 3


def test_the_factory_is_offline_unless_a_url_is_set(settings: Settings) -> None:
    assert isinstance(claim_gateway(settings), OfflineClaimGateway)
    configured = settings.model_copy(
        update={
            "claim_gateway_url": "https://clearinghouse.example/claims",
            "claim_gateway_timeout_seconds": 3.5,
        }
    )
    gateway = claim_gateway(configured)
    assert isinstance(gateway, HttpClaimGateway)
    assert (gateway.url, gateway.timeout) == ("https://clearinghouse.example/claims", 3.5)
    with pytest.raises(ValueError, match="http"):
        HttpClaimGateway(url="file:///etc/passwd", timeout=1)


def test_http_gateway_posts_the_claim_as_json(clearinghouse: Clearinghouse) -> None:
    gateway = HttpClaimGateway(url=f"{clearinghouse.url}/claims", timeout=5)
    assert gateway.submit(CLAIM) == Receipt("CH-2026-000042")
    [received] = clearinghouse.requests
    assert received["body"] == CLAIM
    assert received["content_type"] == "application/json"
    assert received["idempotency_key"] == CLAIM["submission_id"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/refuse", r"refused the claim \(HTTP 503\)"),
        ("/garbage", "not JSON"),
        ("/no-id", "no valid tracking_id"),
        ("/bad-id", "no valid tracking_id"),
        ("/slow", "did not answer within 0.2 s"),
    ],
)
def test_http_gateway_failures_are_clear_and_carry_no_claim_content(
    clearinghouse: Clearinghouse, path: str, message: str
) -> None:
    gateway = HttpClaimGateway(url=f"{clearinghouse.url}{path}", timeout=0.2)
    with pytest.raises(GatewayError, match=message) as caught:
        gateway.submit(CLAIM)
    assert "Sentinelname" not in str(caught.value) and "99213" not in str(caught.value)
    # No chained driver error either: logs of the traceback would show its text.
    error = caught.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_http_gateway_reports_an_unreachable_clearinghouse() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = HttpClaimGateway(url=f"http://127.0.0.1:{port}/claims", timeout=2)
    with pytest.raises(GatewayError, match="could not be reached"):
        gateway.submit(CLAIM)


def _draft(clinic: BillingClinic) -> Claim:
    with tenant_session(database=clinic.database, tenant=clinic.tenant) as session:
        invoice = capture_charges(
            session=session,
            tenant_id=clinic.tenant.id,
            encounter_id=clinic.encounter().id,
            actor=SYSTEM,
        ).invoice
        return create_claim(
            session=session, tenant_id=clinic.tenant.id, invoice_id=invoice.id, actor=SYSTEM
        ).claim


def test_submitting_through_the_http_gateway_stores_its_tracking_id(
    database: Database, clearinghouse: Clearinghouse
) -> None:
    clinic = make_billing_clinic(database=database)
    claim = _draft(clinic)
    gateway = HttpClaimGateway(url=f"{clearinghouse.url}/claims", timeout=5)
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        view = submit_claim(
            session=session,
            tenant_id=clinic.tenant.id,
            claim_id=claim.id,
            gateway=gateway,
            actor=SYSTEM,
        )
    assert (view.claim.status, view.claim.tracking_id) == ("submitted", "CH-2026-000042")
    sent = clearinghouse.requests[0]["body"]
    assert sent["submission_id"] == str(claim.id)
    assert sent["billing_provider"] == {"npi": "1234567893"}
    assert sent["subscriber"]["member_id"] == "W123456789"
    assert sent["diagnoses"] == [
        {"pointer": 1, "system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9"}
    ]
    assert [
        (line["procedure"]["code"], line["charge"], line["diagnosis_pointers"])
        for line in sent["lines"]
    ] == [("99213", "125.00", [1])]


def test_a_refused_submission_leaves_the_claim_a_draft_and_is_audited(
    database: Database, clearinghouse: Clearinghouse
) -> None:
    clinic = make_billing_clinic(database=database)
    claim = _draft(clinic)
    gateway = HttpClaimGateway(url=f"{clearinghouse.url}/refuse", timeout=5)
    with (
        tenant_session(database=database, tenant=clinic.tenant) as session,
        pytest.raises(GatewayError),
    ):
        submit_claim(
            session=session,
            tenant_id=clinic.tenant.id,
            claim_id=claim.id,
            gateway=gateway,
            actor=SYSTEM,
        )
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        assert session.get_one(Claim, claim.id).status == "draft"
        failures: Any = session.execute(
            select(AuditEvent.outcome, AuditEvent.detail).where(
                AuditEvent.action == "claim.submit", AuditEvent.resource_id == str(claim.id)
            )
        ).all()
    assert [(outcome, detail["error"]) for outcome, detail in failures] == [
        ("failure", "the claim gateway refused the claim (HTTP 503)")
    ]


def test_a_refused_resubmission_keeps_no_replacement(
    database: Database, clearinghouse: Clearinghouse
) -> None:
    clinic = make_billing_clinic(database=database)
    claim = _draft(clinic)
    tenant_id = clinic.tenant.id
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        submit_claim(
            session=session,
            tenant_id=tenant_id,
            claim_id=claim.id,
            gateway=OfflineClaimGateway(),
            actor=SYSTEM,
        )
        deny_claim(
            session=session,
            tenant_id=tenant_id,
            claim_id=claim.id,
            reason_code="CO-16",
            actor=SYSTEM,
        )
    refusing = HttpClaimGateway(url=f"{clearinghouse.url}/refuse", timeout=5)
    with (
        tenant_session(database=database, tenant=clinic.tenant) as session,
        pytest.raises(GatewayError),
    ):
        resubmit_claim(
            session=session, tenant_id=tenant_id, claim_id=claim.id, gateway=refusing, actor=SYSTEM
        )
    assert clinic.count("claims") == 1
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        actions = session.scalars(
            select(ClaimEvent.action)
            .where(ClaimEvent.claim_id == claim.id)
            .order_by(ClaimEvent.occurred_at, ClaimEvent.id)
        ).all()
    assert list(actions) == ["create", "submit", "deny"]
    # The gateway taking it later, the resubmission goes through.
    with tenant_session(database=database, tenant=clinic.tenant) as session:
        replacement = resubmit_claim(
            session=session,
            tenant_id=tenant_id,
            claim_id=claim.id,
            gateway=OfflineClaimGateway(),
            actor=SYSTEM,
        ).claim
    assert (replacement.frequency_code, replacement.status) == ("7", "submitted")
