"""A clinic morning end to end, through the HTTP API only, as the staff would do it:
register → find a slot → book → check in → vitals → SOAP note → diagnoses → sign → amend."""

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.factories.identity import bearer, make_tenant, make_user
from transactional.database import Database
from transactional.identity.roles import Role
from transactional.tenancy import bind_tenant

LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"


def test_a_clinic_morning(client: TestClient, database: Database) -> None:
    tenant = make_tenant(database=database)
    admin = bearer(
        client, tenant=tenant, user=make_user(database=database, tenant=tenant, role=Role.ADMIN)
    )
    desk = bearer(
        client,
        tenant=tenant,
        user=make_user(database=database, tenant=tenant, role=Role.RECEPTIONIST),
    )
    nurse = bearer(
        client, tenant=tenant, user=make_user(database=database, tenant=tenant, role=Role.NURSE)
    )
    doctor = bearer(
        client, tenant=tenant, user=make_user(database=database, tenant=tenant, role=Role.PHYSICIAN)
    )

    # Set-up by the administrator: a room, a physician and her weekly hours (all day, UTC).
    location = client.post(
        "/api/v1/locations", json={"name": "Room 1", "time_zone": "UTC"}, headers=admin
    )
    assert location.status_code == 201, location.text
    location_id = location.json()["id"]
    practitioner = client.post(
        "/api/v1/practitioners",
        json={
            "display_name": "Dr. Grace Hopper",
            "npi": "1234567893",
            "specialty_codes": ["207Q00000X"],
        },
        headers=admin,
    )
    assert practitioner.status_code == 201, practitioner.text
    practitioner_id = practitioner.json()["id"]
    hours = client.put(
        f"/api/v1/practitioners/{practitioner_id}/working-hours",
        json={
            "windows": [
                {
                    "location_id": location_id,
                    "weekday": day,
                    "start_time": "00:00",
                    "end_time": "23:45",
                    "slot_minutes": 15,
                    "effective_from": (date.today() - timedelta(days=1)).isoformat(),
                }
                for day in range(1, 8)
            ]
        },
        headers=admin,
    )
    assert hours.status_code == 200, hours.text

    # 08:00 — the front desk registers a new patient...
    registered = client.post(
        "/api/v1/patients",
        json={
            "given_name": "Alan",
            "family_name": "Turing",
            "birth_date": "1954-06-23",
            "sex": "male",
            "phone": "555-0100-23",
        },
        headers=desk,
    )
    assert registered.status_code == 201, registered.text
    patient = registered.json()

    # ...finds the next free slot and books it.
    slots = client.get(
        f"/api/v1/practitioners/{practitioner_id}/slots",
        params={
            "start": date.today().isoformat(),
            "end": (date.today() + timedelta(days=1)).isoformat(),
        },
        headers=desk,
    )
    assert slots.status_code == 200, slots.text
    slot = slots.json()["items"][0]
    booked = client.post(
        "/api/v1/appointments",
        json={
            "patient_id": patient["id"],
            "practitioner_id": practitioner_id,
            "location_id": location_id,
            "starts_at": slot["starts_at"],
            "reason": "Persistent cough",
            "appointment_type": "new_patient",
        },
        headers=desk,
    )
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    taken = client.get(
        f"/api/v1/practitioners/{practitioner_id}/slots",
        params={
            "start": date.today().isoformat(),
            "end": (date.today() + timedelta(days=1)).isoformat(),
        },
        headers=desk,
    ).json()
    assert slot["starts_at"] not in [s["starts_at"] for s in taken["items"]]
    double = client.post(
        "/api/v1/appointments",
        json={
            "patient_id": patient["id"],
            "practitioner_id": practitioner_id,
            "location_id": location_id,
            "starts_at": slot["starts_at"],
            "appointment_type": "follow_up",
        },
        headers=desk,
    )
    assert double.status_code == 409

    # The patient arrives and waits in the front-desk queue.
    assert (
        client.post(f"/api/v1/appointments/{appointment['id']}/check-in", headers=desk).status_code
        == 200
    )
    queue = client.get(
        "/api/v1/front-desk/queue", params={"location_id": location_id}, headers=desk
    ).json()
    assert [entry["mrn"] for entry in queue["items"]] == [patient["mrn"]]
    assert (
        client.post(f"/api/v1/appointments/{appointment['id']}/complete", headers=desk).status_code
        == 409
    )

    # The physician starts the visit; the nurse takes vitals.
    assert (
        client.post(f"/api/v1/appointments/{appointment['id']}/start", headers=doctor).status_code
        == 200
    )
    encounter = client.post(
        "/api/v1/encounters",
        json={
            "patient_id": patient["id"],
            "practitioner_id": practitioner_id,
            "location_id": location_id,
            "appointment_id": appointment["id"],
            "reason": "Persistent cough",
        },
        headers=doctor,
    )
    assert encounter.status_code == 201, encounter.text
    encounter_id = encounter.json()["id"]
    vitals = client.post(
        f"/api/v1/encounters/{encounter_id}/vitals",
        json={
            "observations": [
                {"code": {"system": LOINC, "code": "8480-6"}, "value": 134, "unit": "mm[Hg]"},
                {"code": {"system": LOINC, "code": "8462-4"}, "value": 86, "unit": "mm[Hg]"},
                {"code": {"system": LOINC, "code": "8867-4"}, "value": 88, "unit": "/min"},
                {"code": {"system": LOINC, "code": "8310-5"}, "value": 38.2, "unit": "Cel"},
                {"code": {"system": LOINC, "code": "59408-5"}, "value": 95, "unit": "%"},
                {"code": {"system": LOINC, "code": "29463-7"}, "value": 68, "unit": "kg"},
                {"code": {"system": LOINC, "code": "8302-2"}, "value": 178, "unit": "cm"},
            ]
        },
        headers=nurse,
    )
    assert vitals.status_code == 201, vitals.text
    assert {o["code"]["code"] for o in vitals.json()} >= {"39156-5"}

    # SOAP note, diagnoses, sign-off.
    note = client.post(
        f"/api/v1/encounters/{encounter_id}/notes",
        json={
            "subjective": "Cough and fever for 4 days.",
            "objective": "T 38.2, crackles right base.",
            "assessment": "Community-acquired pneumonia.",
            "plan": "Amoxicillin; recheck in 48 h.",
        },
        headers=doctor,
    )
    assert note.status_code == 201
    note_id = note.json()["note_id"]
    for rank, code in ((1, "J18.9"), (2, "R05.9")):
        diagnosis = client.post(
            f"/api/v1/encounters/{encounter_id}/diagnoses",
            json={"code": {"system": ICD10, "code": code}, "rank": rank},
            headers=doctor,
        )
        assert diagnosis.status_code == 201, diagnosis.text
    assert (
        client.post(f"/api/v1/notes/{note_id}/sign", headers=doctor).json()["current"]["status"]
        == "signed"
    )
    assert (
        client.patch(f"/api/v1/notes/{note_id}", json={"plan": "x"}, headers=doctor).status_code
        == 409
    )

    # A lab call-back: the physician amends the signed note.
    amended = client.post(
        f"/api/v1/notes/{note_id}/amendments",
        json={
            "plan": "Amoxicillin 1 g TID x 5 days; recheck in 48 h; chest X-ray.",
            "reason": "Added dose and imaging",
        },
        headers=doctor,
    )
    assert amended.status_code == 201
    signed = client.post(f"/api/v1/notes/{note_id}/sign", headers=doctor).json()
    assert [(v["version"], v["status"]) for v in signed["versions"]] == [
        (1, "signed"),
        (2, "signed"),
    ]

    assert (
        client.post(f"/api/v1/encounters/{encounter_id}/finish", headers=doctor).json()["status"]
        == "finished"
    )
    assert (
        client.post(f"/api/v1/appointments/{appointment['id']}/complete", headers=doctor).json()[
            "status"
        ]
        == "completed"
    )
    chart = client.get(f"/api/v1/encounters/{encounter_id}", headers=doctor).json()
    assert [d["code"]["code"] for d in chart["diagnoses"]] == ["J18.9", "R05.9"]
    assert len(chart["vitals"]) == 8 and len(chart["notes"]) == 2

    # Every step on the patient's record is in the audit trail, and the chain verifies.
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        actions: Any = set(
            session.execute(
                text("SELECT action FROM audit_events WHERE patient_id = :p"), {"p": patient["id"]}
            ).scalars()
        )
    assert actions >= {
        "patient.create",
        "appointment.book",
        "encounter.open",
        "vitals.record",
        "note.create",
        "diagnosis.add",
        "note.sign",
        "note.amend",
        "encounter.read",
    }
    assert client.get("/api/v1/audit-events/verify", headers=admin).json()["valid"] is True
