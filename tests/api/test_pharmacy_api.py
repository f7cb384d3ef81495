from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.factories.identity import bearer, make_tenant, make_user
from tests.factories.patients import make_patient
from tests.factories.scheduling import make_location
from transactional.base import utcnow
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.identity.roles import Role
from transactional.tenancy import bind_tenant

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LISINOPRIL_10 = "314076"
TABLES = ("stock_items", "stock_lots", "stock_movements")


def in_days(days: int) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


class Pharmacy:
    def __init__(self, client: TestClient, database: Database) -> None:
        self.client, self.database = client, database
        self.tenant = make_tenant(database=database)
        self.physician = bearer(
            client,
            tenant=self.tenant,
            user=make_user(database=database, tenant=self.tenant, role=Role.PHYSICIAN),
        )
        self.pharmacist = bearer(
            client,
            tenant=self.tenant,
            user=make_user(database=database, tenant=self.tenant, role=Role.PHARMACIST),
        )
        self.location = make_location(database=database, tenant=self.tenant)
        self.patient = make_patient(database=database, tenant=self.tenant)

    def receive(self, lot: str, quantity: Any, days: int = 365, **extra: Any) -> Any:
        body = {
            "location_id": str(self.location.id),
            "medication": {"system": RXNORM, "code": LISINOPRIL_10},
            "lot_number": lot,
            "expiry_date": in_days(days),
            "quantity": quantity,
            "unit": "tablet",
        } | extra
        return self.client.post("/api/v1/pharmacy/receive", json=body, headers=self.pharmacist)

    def prescription(self, code: str = LISINOPRIL_10, quantity: int = 30, refills: int = 0) -> str:
        response = self.client.post(
            f"/api/v1/patients/{self.patient.id}/prescriptions",
            json={
                "medication": {"system": RXNORM, "code": code},
                "dose": "1 tablet",
                "route": "PO",
                "frequency": "daily",
                "quantity": quantity,
                "refills": refills,
            },
            headers=self.physician,
        )
        assert response.status_code == 201, response.text
        result: str = response.json()["id"]
        return result

    def dispense(self, headers: dict[str, str] | None = None, **body: Any) -> Any:
        return self.client.post(
            "/api/v1/pharmacy/dispense",
            json={k: str(v) if k.endswith("_id") else v for k, v in body.items()},
            headers=headers or self.pharmacist,
        )

    def counts(self, tenant: Tenant | None = None) -> dict[str, int]:
        with self.database.transaction() as session:
            bind_tenant(session, (tenant or self.tenant).id)
            return {
                table: int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in TABLES
            }


@pytest.fixture
def pharmacy(client: TestClient, database: Database) -> Pharmacy:
    return Pharmacy(client, database)


def test_receive_then_dispense_first_expiry_first_out(pharmacy: Pharmacy) -> None:
    late = pharmacy.receive("LATE-1", 40, days=400)
    soon = pharmacy.receive("SOON-1", "10", days=20)
    assert late.status_code == 201 and soon.status_code == 201, soon.text
    assert soon.json()["quantity_on_hand"] == "10" and soon.json()["expired"] is False
    prescription = pharmacy.prescription(quantity=30, refills=1)

    first = pharmacy.dispense(prescription_id=prescription, quantity=25)

    assert first.status_code == 201, first.text
    body = first.json()
    assert [(lot["lot_number"], lot["quantity"]) for lot in body["lots"]] == [
        ("SOON-1", "10"),
        ("LATE-1", "15"),
    ]
    assert (body["status"], body["dispensed_quantity"], body["remaining_quantity"]) == (
        "partially_dispensed",
        "25",
        "35",
    )
    item = pharmacy.client.get(
        f"/api/v1/pharmacy/stock-items/{body['stock_item_id']}", headers=pharmacy.pharmacist
    ).json()
    assert item["on_hand"] == "25" and item["unit"] == "{tablet}"
    assert [lot["lot_number"] for lot in item["lots"]] == ["LATE-1"]
    rx = pharmacy.client.get(
        f"/api/v1/prescriptions/{prescription}", headers=pharmacy.pharmacist
    ).json()
    assert rx["status"] == "partially_dispensed" and rx["last_dispensed_at"]


def test_a_named_lot_and_the_refusals_of_dispensing(pharmacy: Pharmacy) -> None:
    lot = pharmacy.receive("NAMED", 20).json()
    pharmacy.receive("OTHER", 20, days=30)
    prescription = pharmacy.prescription(quantity=10)
    before = pharmacy.counts()

    too_many = pharmacy.dispense(prescription_id=prescription, quantity=11)
    not_positive = pharmacy.dispense(prescription_id=prescription, quantity=0)
    physician = pharmacy.dispense(pharmacy.physician, prescription_id=prescription, quantity=1)

    assert too_many.status_code == 409 and "remain" in too_many.json()["detail"]
    assert not_positive.status_code == 422
    assert physician.status_code == 403
    assert pharmacy.counts() == before
    named = pharmacy.dispense(prescription_id=prescription, quantity=10, lot_id=lot["id"])
    assert named.status_code == 201
    assert [x["lot_number"] for x in named.json()["lots"]] == ["NAMED"]
    assert named.json()["status"] == "dispensed"
    assert pharmacy.dispense(prescription_id=prescription, quantity=1).status_code == 409


def test_dispensing_against_a_cancelled_or_unstocked_prescription_is_refused(
    pharmacy: Pharmacy,
) -> None:
    pharmacy.receive("L1", 50)
    cancelled = pharmacy.prescription()
    pharmacy.client.post(
        f"/api/v1/prescriptions/{cancelled}/cancel",
        json={"reason": "Duplicate order"},
        headers=pharmacy.physician,
    )
    unstocked = pharmacy.prescription(code="17767")
    before = pharmacy.counts()

    refused = pharmacy.dispense(prescription_id=cancelled, quantity=1)
    missing = pharmacy.dispense(prescription_id=unstocked, quantity=1)

    assert refused.status_code == 409 and "cancelled" in refused.json()["detail"]
    assert missing.status_code == 409 and "not stocked" in missing.json()["detail"]
    assert pharmacy.counts() == before


@pytest.mark.parametrize(
    ("overrides", "status", "message"),
    [
        ({"expiry_date": in_days(-1)}, 422, "expiry_date"),
        ({"quantity": -5}, 422, "positive"),
        ({"quantity": "1.0005"}, 422, "decimal places"),
        ({"medication": {"system": RXNORM, "code": "29046"}}, 422, "not a clinical drug"),
        ({"medication": {"system": RXNORM, "code": "99999999"}}, 422, "unknown RxNorm"),
        ({"unit": "furlong"}, 422, "unit"),
    ],
)
def test_bad_receipts_write_nothing(
    pharmacy: Pharmacy, overrides: dict[str, Any], status: int, message: str
) -> None:
    before = pharmacy.counts()

    response = pharmacy.receive("BAD", **({"quantity": 10} | overrides))

    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert pharmacy.counts() == before


def test_reorder_alerts_list_items_at_or_below_their_threshold(pharmacy: Pharmacy) -> None:
    created = pharmacy.client.post(
        "/api/v1/pharmacy/stock-items",
        json={
            "location_id": str(pharmacy.location.id),
            "medication": {"system": RXNORM, "code": "198440"},
            "unit": "tablet",
            "reorder_threshold": 20,
        },
        headers=pharmacy.pharmacist,
    )
    assert created.status_code == 201, created.text
    pharmacy.receive("R1", 25, reorder_threshold=25)
    duplicate = pharmacy.client.post(
        "/api/v1/pharmacy/stock-items",
        json={
            "location_id": str(pharmacy.location.id),
            "medication": {"system": RXNORM, "code": "198440"},
        },
        headers=pharmacy.pharmacist,
    )
    assert duplicate.status_code == 409

    alerts = pharmacy.client.get("/api/v1/pharmacy/reorder-alerts", headers=pharmacy.pharmacist)

    assert alerts.status_code == 200
    assert sorted((a["medication"]["code"], a["on_hand"]) for a in alerts.json()) == [
        ("198440", "0"),
        (LISINOPRIL_10, "25"),
    ]
    prescription = pharmacy.prescription(quantity=10)
    pharmacy.dispense(prescription_id=prescription, quantity=1)
    lisinopril = next(a for a in alerts.json() if a["medication"]["code"] == LISINOPRIL_10)
    raised = pharmacy.client.patch(
        f"/api/v1/pharmacy/stock-items/{lisinopril['stock_item_id']}",
        json={"reorder_threshold": 5},
        headers=pharmacy.pharmacist,
    )
    assert raised.json()["reorder_threshold"] == "5" and raised.json()["on_hand"] == "24"
    after = pharmacy.client.get("/api/v1/pharmacy/reorder-alerts", headers=pharmacy.pharmacist)
    assert [a["medication"]["code"] for a in after.json()] == ["198440"]


def test_another_tenants_stock_and_prescriptions_are_not_found(
    pharmacy: Pharmacy, client: TestClient, database: Database
) -> None:
    lot = pharmacy.receive("MINE", 10).json()
    prescription = pharmacy.prescription(quantity=5)
    other = Pharmacy(client, database)
    before = other.counts()

    assert (
        client.get(
            f"/api/v1/pharmacy/stock-items/{lot['stock_item_id']}", headers=other.pharmacist
        ).status_code
        == 404
    )
    assert other.dispense(prescription_id=prescription, quantity=1).status_code == 404
    assert client.get("/api/v1/pharmacy/reorder-alerts", headers=other.pharmacist).json() == []
    assert other.counts() == before
    assert pharmacy.counts()["stock_movements"] == 1
