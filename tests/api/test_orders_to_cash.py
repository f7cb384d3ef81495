"""Clinical core II end to end, through the HTTP API only, as the staff would do it:
order a lab → a critical result → the physician's alert → acknowledge → prescribe (an
interaction found, overridden with a reason) → dispense → charge → claim → denial →
resubmission → payments → a zero balance. Then a merge carries all of it to the survivor."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.factories.identity import bearer, make_tenant, make_user
from transactional.database import Database
from transactional.identity.roles import Role
from transactional.tenancy import bind_tenant

LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
BMP, POTASSIUM, SODIUM = "51990-0", "2823-3", "2951-2"
CLARITHROMYCIN, SIMVASTATIN_20 = "21212", "312961"
MOVED_WITH_A_MERGE = (
    "orders",
    "lab_results",
    "clinical_alerts",
    "prescriptions",
    "stock_movements",
    "charges",
    "invoices",
    "claims",
    "payments",
    "adjustments",
    "clinical_notes",
)


class Staff:
    def __init__(self, client: TestClient, database: Database) -> None:
        self.client, self.database = client, database
        self.tenant = make_tenant(database=database)
        roles = (Role.ADMIN, Role.PHYSICIAN, Role.NURSE, Role.LAB_TECH, Role.PHARMACIST)
        self.users = {
            role: make_user(database=database, tenant=self.tenant, role=role) for role in roles
        }
        self.users[Role.BILLING] = make_user(
            database=database, tenant=self.tenant, role=Role.BILLING
        )
        self.tokens = {
            role: bearer(client, tenant=self.tenant, user=user) for role, user in self.users.items()
        }

    def call(self, role: Role, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = self.client.request(method, path, json=body, headers=self.tokens[role])
        assert response.status_code == status, (path, response.status_code, response.text)
        return response.json() if response.content else None

    def count(self, table: str, patient_id: str) -> int:
        with self.database.transaction() as session:
            bind_tenant(session, self.tenant.id)
            return int(
                session.execute(
                    text(f"SELECT count(*) FROM {table} WHERE patient_id = :p"), {"p": patient_id}
                ).scalar_one()
            )


def test_order_to_cash_and_a_merge_that_keeps_all_of_it(
    client: TestClient, database: Database
) -> None:
    staff = Staff(client, database)
    admin, doctor, nurse = Role.ADMIN, Role.PHYSICIAN, Role.NURSE
    lab, pharmacist, billing = Role.LAB_TECH, Role.PHARMACIST, Role.BILLING
    today = datetime.now(UTC).date().isoformat()

    # The clinic: a room, a physician linked to her user account, a payer and its fees.
    location = staff.call(
        admin, "POST", "/api/v1/locations", {"name": "Room 1", "time_zone": "UTC"}, 201
    )
    practitioner = staff.call(
        admin,
        "POST",
        "/api/v1/practitioners",
        {
            "display_name": "Dr. Grace Hopper",
            "npi": "1234567893",
            "specialty_codes": ["207Q00000X"],
            "user_id": str(staff.users[doctor].id),
        },
        201,
    )
    payer = staff.call(
        billing, "POST", "/api/v1/payers", {"name": "Acme Health", "payer_type": "commercial"}, 201
    )
    staff.call(
        billing,
        "POST",
        "/api/v1/fee-schedules",
        {
            "name": "Acme 2026",
            "payer_id": payer["id"],
            "effective_from": (date.today() - timedelta(days=365)).isoformat(),
            "fees": [{"code": {"system": CPT, "code": "99214"}, "amount": "160.00"}],
        },
        201,
    )

    # A patient with insurance, seen today for diabetes and CKD.
    patient = staff.call(
        admin,
        "POST",
        "/api/v1/patients",
        {
            "given_name": "Ada",
            "family_name": "Lovelace",
            "birth_date": "1958-12-10",
            "sex": "female",
        },
        201,
    )
    pid = patient["id"]
    staff.call(
        admin,
        "POST",
        f"/api/v1/patients/{pid}/coverages",
        {"payer_id": payer["id"], "member_id": "ACM-777", "period_start": "2026-01-01"},
        201,
    )
    encounter = staff.call(
        doctor,
        "POST",
        "/api/v1/encounters",
        {"patient_id": pid, "practitioner_id": practitioner["id"], "location_id": location["id"]},
        201,
    )
    visit = f"/api/v1/encounters/{encounter['id']}"
    for rank, code in ((1, "E11.22"), (2, "N18.31")):
        staff.call(
            doctor,
            "POST",
            f"{visit}/diagnoses",
            {"code": {"system": ICD10, "code": code}, "rank": rank},
            201,
        )

    # Order a stat BMP; the nurse draws it; the lab reports a critical potassium.
    order = staff.call(
        doctor,
        "POST",
        "/api/v1/orders",
        {
            "patient_id": pid,
            "practitioner_id": practitioner["id"],
            "encounter_id": encounter["id"],
            "category": "laboratory",
            "code": {"system": LOINC, "code": BMP},
            "priority": "stat",
        },
        201,
    )
    staff.call(nurse, "POST", f"/api/v1/orders/{order['id']}/specimen", {"specimen_type": "serum"})
    resulted = staff.call(
        lab,
        "POST",
        f"/api/v1/orders/{order['id']}/results",
        {
            "results": [
                {"code": {"system": LOINC, "code": POTASSIUM}, "value": "6.9", "unit": "mmol/L"},
                {"code": {"system": LOINC, "code": SODIUM}, "value": "139", "unit": "mmol/L"},
            ]
        },
        201,
    )
    flags = {r["code"]["code"]: r["abnormal_flag"] for r in resulted["results"]}
    assert flags == {POTASSIUM: "HH", SODIUM: "N"}

    # The alert waits in the ordering physician's inbox until she acknowledges it.
    [alert] = staff.call(doctor, "GET", "/api/v1/alerts?status=open")
    assert (alert["kind"], alert["severity"], alert["patient_id"]) == (
        "critical_result",
        "critical",
        pid,
    )
    staff.call(doctor, "POST", f"/api/v1/alerts/{alert['id']}/acknowledge")
    assert staff.call(doctor, "GET", "/api/v1/alerts?status=open") == []

    # She is on clarithromycin; simvastatin on top is a critical ONC interaction.
    staff.call(
        doctor,
        "POST",
        f"/api/v1/patients/{pid}/prescriptions",
        {
            "medication": {"system": RXNORM, "code": CLARITHROMYCIN},
            "dose": "500 mg",
            "route": "oral",
            "frequency": "BID",
        },
        201,
    )
    simvastatin = {
        "medication": {"system": RXNORM, "code": SIMVASTATIN_20},
        "dose": "1 tablet",
        "route": "PO",
        "frequency": "daily",
        "quantity": 30,
    }
    blocked = staff.call(doctor, "POST", f"/api/v1/patients/{pid}/prescriptions", simvastatin, 409)
    [finding] = blocked["findings"]
    assert (finding["severity"], finding["interacting_drug"]["code"]) == (
        "critical",
        CLARITHROMYCIN,
    )
    assert finding["rationale"]
    assert staff.count("prescriptions", pid) == 1
    prescription = staff.call(
        doctor,
        "POST",
        f"/api/v1/patients/{pid}/prescriptions",
        simvastatin | {"override_reason": "Clarithromycin stops in 2 days; statin held until then"},
        201,
    )
    assert prescription["override"]["reason"].startswith("Clarithromycin stops")

    # The pharmacy receives a lot and dispenses the whole prescription.
    staff.call(
        pharmacist,
        "POST",
        "/api/v1/pharmacy/receive",
        {
            "location_id": location["id"],
            "medication": {"system": RXNORM, "code": SIMVASTATIN_20},
            "lot_number": "SIM-001",
            "expiry_date": (date.today() + timedelta(days=300)).isoformat(),
            "quantity": 100,
            "unit": "tablet",
        },
        201,
    )
    dispensed = staff.call(
        pharmacist,
        "POST",
        "/api/v1/pharmacy/dispense",
        {"prescription_id": prescription["id"], "quantity": 30},
        201,
    )
    assert dispensed["status"] == "dispensed"

    # The visit is coded, finished and charged; the claim is denied, fixed and paid.
    staff.call(
        doctor, "POST", f"{visit}/procedures", {"code": {"system": CPT, "code": "99214"}}, 201
    )
    staff.call(doctor, "POST", f"{visit}/finish")
    captured = staff.call(billing, "POST", f"{visit}/charges", None, 201)
    invoice = captured["invoice"]
    assert (invoice["charges"], invoice["balance"]) == ("160.00", "160.00")
    claim = staff.call(billing, "POST", "/api/v1/claims", {"invoice_id": invoice["id"]}, 201)
    staff.call(billing, "POST", f"/api/v1/claims/{claim['id']}/submit")
    denied = staff.call(
        billing, "POST", f"/api/v1/claims/{claim['id']}/deny", {"reason_code": "CO-16"}
    )
    assert denied["status"] == "denied"
    replacement = staff.call(billing, "POST", f"/api/v1/claims/{claim['id']}/resubmit", None, 201)
    assert replacement["original_claim_id"] == claim["id"]
    staff.call(billing, "POST", f"/api/v1/claims/{replacement['id']}/accept")
    staff.call(
        billing,
        "POST",
        "/api/v1/remittances",
        {
            "payer_id": payer["id"],
            "reference": "EFT-4242",
            "received_on": today,
            "claims": [
                {
                    "claim_id": replacement["id"],
                    "paid": "112.00",
                    "adjustments": [
                        {"group_code": "CO", "reason_code": "45", "amount": "23.00"},
                        {"group_code": "PR", "reason_code": "2", "amount": "25.00"},
                    ],
                }
            ],
        },
        201,
    )
    assert staff.call(billing, "GET", f"/api/v1/patients/{pid}/balance")["patient_due"] == "25.00"
    paid = staff.call(
        billing,
        "POST",
        "/api/v1/payments",
        {
            "invoice_id": invoice["id"],
            "source": "patient",
            "amount": "25.00",
            "posted_on": today,
            "method": "card",
        },
        201,
    )
    assert (paid["invoice"]["status"], paid["invoice"]["balance"]) == ("paid_in_full", "0.00")
    assert staff.call(billing, "GET", f"/api/v1/patients/{pid}/balance")["balance"] == "0.00"

    # A signed note too; then the patient turns out to be a duplicate of an older record.
    note = staff.call(
        doctor,
        "POST",
        f"{visit}/notes",
        {
            "subjective": "Thirsty",
            "objective": "K 6.9",
            "assessment": "Hyperkalaemia",
            "plan": "Recheck",
        },
        201,
    )
    staff.call(doctor, "POST", f"/api/v1/notes/{note['note_id']}/sign")
    before = {table: staff.count(table, pid) for table in MOVED_WITH_A_MERGE}
    assert all(before.values()), before
    survivor = staff.call(
        admin,
        "POST",
        "/api/v1/patients",
        {
            "given_name": "Ada",
            "family_name": "Lovelace",
            "birth_date": "1958-12-10",
            "sex": "female",
        },
        201,
    )
    staff.call(admin, "POST", f"/api/v1/patients/{survivor['id']}/merge", {"duplicate_id": pid})

    assert {table: staff.count(table, survivor["id"]) for table in MOVED_WITH_A_MERGE} == before
    assert not any(staff.count(table, pid) for table in MOVED_WITH_A_MERGE)
    assert (
        staff.call(billing, "GET", f"/api/v1/patients/{survivor['id']}/balance")["balance"]
        == "0.00"
    )
    medications = staff.call(doctor, "GET", f"/api/v1/patients/{survivor['id']}/medications")
    assert {m["medication"]["code"] for m in medications} >= {CLARITHROMYCIN, SIMVASTATIN_20}
    # Posted money and signed notes still never change outside a merge.
    for table in ("payments", "clinical_notes"):
        with pytest.raises(DBAPIError, match=r"never changed|immutable"):
            _move_rows(database, staff, table, source=survivor["id"], target=pid)


def _move_rows(database: Database, staff: Staff, table: str, *, source: str, target: str) -> None:
    with database.transaction() as session:
        bind_tenant(session, staff.tenant.id)
        session.execute(
            text(f"UPDATE {table} SET patient_id = :target WHERE patient_id = :source"),
            {"target": target, "source": source},
        )
