import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.factories.identity import bearer, make_tenant, make_user
from tests.factories.patients import make_patient
from tests.factories.scheduling import VALID_NPI, at, next_monday, tenant_session
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.identity.roles import Role
from transactional.patients.models import Patient


def zone_away_from_midnight() -> str:
    """A time zone where today lasts a while yet, so a check-in now is still 'today' later."""
    for name in ("America/New_York", "Asia/Tokyo", "Europe/London"):
        if 1 <= datetime.now(ZoneInfo(name)).hour <= 21:
            return name
    raise AssertionError("one of three zones eight hours apart is always away from midnight")


@dataclass(frozen=True)
class Front:
    """A clinic set up through the API: Mondays to Fridays 09:00-12:00, 30-minute slots."""

    client: TestClient
    tenant: Tenant
    admin: dict[str, str]
    desk: dict[str, str]
    location: dict[str, Any]
    practitioner: dict[str, Any]
    patient: Patient
    time_zone: str

    def at(self, day: int, hour: int, minute: int = 0) -> str:
        day_date = next_monday() + timedelta(days=day)
        return at(day_date, hour, minute, time_zone=self.time_zone).isoformat()

    def book(self, starts_at: str, **fields: Any) -> Any:
        body = {
            "patient_id": str(self.patient.id),
            "practitioner_id": self.practitioner["id"],
            "location_id": self.location["id"],
            "starts_at": starts_at,
            "appointment_type": "follow_up",
        } | fields
        return self.client.post("/api/v1/appointments", json=body, headers=self.desk)

    def act(self, appointment_id: str, step: str, body: Any = None) -> Any:
        return self.client.post(
            f"/api/v1/appointments/{appointment_id}/{step}", json=body, headers=self.desk
        )


@pytest.fixture
def front(client: TestClient, database: Database) -> Front:
    tenant = make_tenant(database=database)
    admin = bearer(client, tenant=tenant, user=make_user(database=database, tenant=tenant))
    desk = bearer(
        client,
        tenant=tenant,
        user=make_user(database=database, tenant=tenant, role=Role.RECEPTIONIST),
    )
    time_zone = zone_away_from_midnight()
    location = client.post(
        "/api/v1/locations", json={"name": "Main St. room 1", "time_zone": time_zone}, headers=admin
    )
    practitioner = client.post(
        "/api/v1/practitioners",
        json={"display_name": "Dr. Rivera", "npi": VALID_NPI, "specialty_codes": ["207Q00000X"]},
        headers=admin,
    )
    assert location.status_code == practitioner.status_code == 201, practitioner.text
    windows = [
        {
            "location_id": location.json()["id"],
            "weekday": weekday,
            "start_time": "09:00",
            "end_time": "12:00",
            "slot_minutes": 30,
            "effective_from": (datetime.now(UTC).date() - timedelta(days=1)).isoformat(),
        }
        for weekday in range(1, 6)
    ]
    hours = client.put(
        f"/api/v1/practitioners/{practitioner.json()['id']}/working-hours",
        json={"windows": windows},
        headers=admin,
    )
    assert hours.status_code == 200, hours.text
    return Front(
        client=client,
        tenant=tenant,
        admin=admin,
        desk=desk,
        location=location.json(),
        practitioner=practitioner.json(),
        patient=make_patient(database=database, tenant=tenant),
        time_zone=time_zone,
    )


def test_provider_managers_set_up_practitioners_and_staff_list_them(front: Front) -> None:
    client, admin, desk = front.client, front.admin, front.desk
    department = client.post("/api/v1/departments", json={"name": "Family medicine"}, headers=admin)
    assert department.status_code == 201
    practitioner_id = front.practitioner["id"]
    assert front.practitioner["specialty_code_system"] == "http://nucc.org/provider-taxonomy"
    changed = client.patch(
        f"/api/v1/practitioners/{practitioner_id}",
        json={"department_id": department.json()["id"], "npi": None},
        headers=admin,
    )
    assert changed.status_code == 200
    assert changed.json()["department_id"] == department.json()["id"]
    assert changed.json()["npi"] is None
    listed = client.get("/api/v1/practitioners", headers=desk).json()
    assert [item["id"] for item in listed["items"]] == [practitioner_id]
    assert client.get("/api/v1/departments", headers=desk).json()[0]["name"] == "Family medicine"
    assert client.get("/api/v1/locations", headers=desk).json()[0]["time_zone"] == front.time_zone
    hours = client.get(f"/api/v1/practitioners/{practitioner_id}/working-hours", headers=desk)
    assert [(w["weekday"], w["start_time"]) for w in hours.json()] == [
        (day, "09:00:00") for day in range(1, 6)
    ]

    bad_npi = client.post(
        "/api/v1/practitioners", json={"display_name": "X", "npi": "1234567890"}, headers=admin
    )
    assert bad_npi.status_code == 422 and bad_npi.json()["type"] == "urn:emr:problem:invalid-input"
    bad_zone = client.post(
        "/api/v1/locations", json={"name": "Moon", "time_zone": "Moon/Base"}, headers=admin
    )
    assert bad_zone.status_code == 422
    by_desk = client.post("/api/v1/practitioners", json={"display_name": "Y"}, headers=desk)
    assert by_desk.status_code == 403


def test_booking_takes_a_free_slot_and_refuses_bad_times(front: Front, database: Database) -> None:
    monday = next_monday().isoformat()
    path = f"/api/v1/practitioners/{front.practitioner['id']}/slots"
    slots = front.client.get(path, params={"start": monday, "end": monday}, headers=front.desk)
    assert slots.status_code == 200
    first = slots.json()["items"][0]
    assert first["local_starts_at"].startswith(f"{monday}T09:00:00")
    assert datetime.fromisoformat(first["starts_at"]).utcoffset() == timedelta(0)

    booked = front.book(first["starts_at"], reason="knee pain")
    assert booked.status_code == 201, booked.text
    assert booked.json()["status"] == "scheduled"
    assert booked.json()["allowed_actions"] == [
        "confirm",
        "check_in",
        "cancel",
        "no_show",
        "reschedule",
    ]
    after = front.client.get(path, params={"start": monday, "end": monday}, headers=front.desk)
    assert first["starts_at"] not in [slot["starts_at"] for slot in after.json()["items"]]

    overlap = front.book(front.at(0, 9, 15), duration_minutes=30)
    assert overlap.status_code == 409
    assert overlap.json()["type"] == "urn:emr:problem:conflict"
    assert "already has an appointment" in overlap.json()["detail"]
    for starts_at, problem in (
        (front.at(0, 8), "does not work"),
        (front.at(5, 10), "does not work"),
        ((datetime.now(UTC) - timedelta(hours=1)).isoformat(), "past"),
    ):
        refused = front.book(starts_at)
        assert refused.status_code == 422, starts_at
        assert problem in refused.json()["detail"]
    with tenant_session(database=database, tenant=front.tenant) as session:
        assert session.execute(text("SELECT count(*) FROM appointments")).scalar() == 1


def test_a_visit_goes_through_check_in_and_the_front_desk_queue(
    front: Front, database: Database
) -> None:
    appointment = front.book(front.at(0, 10)).json()
    assert front.act(appointment["id"], "confirm").json()["status"] == "confirmed"
    checked_in = front.act(appointment["id"], "check-in").json()
    assert checked_in["status"] == "checked_in" and checked_in["checked_in_at"] is not None
    with tenant_session(database=database, tenant=front.tenant) as session:
        session.execute(
            text(
                "UPDATE appointments SET checked_in_at = checked_in_at - interval '25 minutes' "
                "WHERE id = :id"
            ),
            {"id": appointment["id"]},
        )
    queue = front.client.get(
        "/api/v1/front-desk/queue", params={"location_id": front.location["id"]}, headers=front.desk
    )
    assert queue.status_code == 200
    [entry] = queue.json()["items"]
    assert entry["appointment_id"] == appointment["id"]
    assert entry["patient_name"] == f"{front.patient.family_name}, {front.patient.given_name}"
    assert entry["waiting_minutes"] == 25 and entry["in_progress"] is False

    assert front.act(appointment["id"], "start").json()["status"] == "in_progress"
    queue = front.client.get(
        "/api/v1/front-desk/queue", params={"location_id": front.location["id"]}, headers=front.desk
    )
    assert queue.json()["items"][0]["in_progress"] is True
    completed = front.act(appointment["id"], "complete").json()
    assert completed["status"] == "completed" and completed["allowed_actions"] == []
    queue = front.client.get(
        "/api/v1/front-desk/queue", params={"location_id": front.location["id"]}, headers=front.desk
    )
    assert queue.json()["items"] == []


def test_illegal_transitions_are_409_and_cancelling_needs_a_reason(front: Front) -> None:
    appointment = front.book(front.at(0, 9)).json()
    for step in ("start", "complete"):
        refused = front.act(appointment["id"], step)
        assert refused.status_code == 409 and "cannot" in refused.json()["detail"]
    for body in (None, {}, {"reason": "   "}):
        assert front.act(appointment["id"], "cancel", body).status_code == 422
    cancelled = front.act(appointment["id"], "cancel", {"reason": "travelling"})
    assert cancelled.status_code == 200 and cancelled.json()["cancel_reason"] == "travelling"
    for step in ("confirm", "check-in", "no-show"):
        assert front.act(appointment["id"], step).status_code == 409
    moved = front.act(appointment["id"], "reschedule", {"starts_at": front.at(1, 9)})
    assert moved.status_code == 409


def test_rescheduling_into_a_taken_slot_is_409_and_keeps_the_original(
    front: Front, database: Database
) -> None:
    front.book(front.at(0, 9))
    other = make_patient(database=database, tenant=front.tenant)
    moving = front.book(front.at(0, 10), patient_id=str(other.id)).json()
    taken = front.act(moving["id"], "reschedule", {"starts_at": front.at(0, 9, 15)})
    assert taken.status_code == 409
    kept = front.client.get(f"/api/v1/appointments/{moving['id']}", headers=front.desk).json()
    assert kept["starts_at"] == moving["starts_at"] and kept["version"] == moving["version"]
    moved = front.act(
        moving["id"], "reschedule", {"starts_at": front.at(2, 11), "duration_minutes": 60}
    )
    assert moved.status_code == 200
    assert datetime.fromisoformat(moved.json()["starts_at"]) == datetime.fromisoformat(
        front.at(2, 11)
    )
    listed = front.client.get(
        "/api/v1/appointments",
        params={"date": (next_monday() + timedelta(days=2)).isoformat()},
        headers=front.desk,
    ).json()
    assert [item["id"] for item in listed["items"]] == [moving["id"]]


def test_another_tenant_gets_404_for_the_appointment_and_the_practitioner(
    front: Front, database: Database
) -> None:
    appointment = front.book(front.at(0, 9)).json()
    other = make_tenant(database=database)
    stranger = bearer(
        front.client,
        tenant=other,
        user=make_user(database=database, tenant=other, role=Role.RECEPTIONIST),
    )
    practitioner_id = front.practitioner["id"]
    for method, path in (
        ("GET", f"/api/v1/appointments/{appointment['id']}"),
        ("POST", f"/api/v1/appointments/{appointment['id']}/confirm"),
        ("GET", f"/api/v1/practitioners/{practitioner_id}"),
        ("GET", f"/api/v1/practitioners/{practitioner_id}/working-hours"),
        ("GET", f"/api/v1/front-desk/queue?location_id={front.location['id']}"),
    ):
        response = front.client.request(method, path, headers=stranger)
        assert response.status_code == 404, (method, path)
        assert response.json()["type"] == "urn:emr:problem:not-found"
    assert front.client.get("/api/v1/appointments", headers=stranger).json()["items"] == []
    unknown = front.client.get(f"/api/v1/appointments/{uuid.uuid4()}", headers=front.desk)
    assert unknown.status_code == 404


def test_api_reads_and_writes_of_appointments_are_audited_with_the_patient(
    front: Front, database: Database
) -> None:
    appointment = front.book(front.at(0, 9)).json()
    front.client.get(f"/api/v1/appointments/{appointment['id']}", headers=front.desk)
    front.act(appointment["id"], "cancel", {"reason": "a reason with private detail"})
    with tenant_session(database=database, tenant=front.tenant) as session:
        events = session.execute(
            text(
                "SELECT action, patient_id, actor_role, detail::text AS detail FROM audit_events "
                "WHERE resource_type = 'appointment' AND resource_id = :id ORDER BY occurred_at"
            ),
            {"id": appointment["id"]},
        ).all()
        provider_events: Any = session.execute(
            text(
                "SELECT action FROM audit_events WHERE patient_id IS NULL "
                "AND (action LIKE 'location.%' OR action LIKE 'practitioner.%') "
                "ORDER BY occurred_at"
            )
        ).scalars()
        provider_actions = list(provider_events)
    assert [(e.action, e.patient_id, e.actor_role) for e in events] == [
        ("appointment.book", front.patient.id, "receptionist"),
        ("appointment.read", front.patient.id, "receptionist"),
        ("appointment.cancel", front.patient.id, "receptionist"),
    ]
    assert all("private" not in event.detail for event in events)
    assert provider_actions == [
        "location.create",
        "practitioner.create",
        "practitioner.working_hours.replace",
    ]
