"""Batches the database refuses are retried row by row: the refused row is reported, the rest
written, and a row that needs the refused one fails because of it."""

import uuid

from sqlalchemy import func, select

from tests.factories.identity import make_tenant
from transactional.base import utcnow
from transactional.database import Database
from transactional.providers.models import Department, Location, Practitioner
from transactional.synthea.directory import DEPARTMENTS, LOCATIONS, PRACTITIONERS
from transactional.synthea.models import SourceKey
from transactional.synthea.report import ImportReport
from transactional.synthea.writer import Unit, write_units
from transactional.tenancy import bind_tenant


def _location(tenant_id: uuid.UUID, line: int, name: str) -> Unit:
    location_id = uuid.uuid4()
    unit = Unit("organizations.csv", line, f"org-{line}", (LOCATIONS, location_id))
    now = utcnow()
    unit.add(
        LOCATIONS,
        {
            "id": location_id,
            "tenant_id": tenant_id,
            "name": name,
            "time_zone": "America/New_York",
            "is_active": True,
            "created_at": now,
            "updated_at": now,
        },
    )
    return unit


def _practitioner(tenant_id: uuid.UUID, line: int, department: Unit | None) -> Unit:
    department_id = uuid.uuid4()
    unit = Unit("providers.csv", line, f"provider-{line}", None)
    now = utcnow()
    unit.add(
        DEPARTMENTS,
        {"id": department_id, "tenant_id": tenant_id, "name": f"Dept {line}", "created_at": now},
    )
    practitioner_id = uuid.uuid4()
    unit.target = (PRACTITIONERS, practitioner_id)
    unit.add(
        PRACTITIONERS,
        {
            "id": practitioner_id,
            "tenant_id": tenant_id,
            "display_name": "x" * (300 if department is None else 10),
            "specialty_codes": [],
            "department_id": department_id,
            "is_active": True,
            "created_at": now,
            "updated_at": now,
        },
    )
    if department is not None:
        unit.needs.append(department)
    return unit


def test_a_refused_row_is_reported_and_the_rest_is_written(database: Database) -> None:
    tenant = make_tenant(database=database)
    report = ImportReport(tenant.slug)
    failed: dict[tuple[str, str], int] = {}
    forgotten: list[int] = []
    refused = _practitioner(tenant.id, 2, None)  # a display name longer than its column
    refused.undo = lambda: forgotten.append(refused.line)
    units = [
        _location(tenant.id, 2, "North Clinic"),
        refused,
        _practitioner(tenant.id, 3, refused),
        _location(tenant.id, 3, "South Clinic"),
    ]

    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        write_units(
            session=session,
            tenant_id=tenant.id,
            units=units,
            order=(LOCATIONS, DEPARTMENTS, PRACTITIONERS),
            report=report,
            failed=failed,
        )

    assert [str(f) for f in report.failures] == [
        "providers.csv:2: the database refused it (22001)",
        "providers.csv:3: providers.csv:2, which it depends on, failed",
    ]
    assert failed == {("providers.csv", "provider-2"): 2, ("providers.csv", "provider-3"): 3}
    assert forgotten == [2]
    assert report.files["organizations.csv"].imported == 2
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        assert session.scalar(select(func.count()).select_from(Location)) == 2
        assert session.scalar(select(func.count()).select_from(Department)) == 0
        assert session.scalar(select(func.count()).select_from(Practitioner)) == 0
        keys = set(session.scalars(select(SourceKey.source_key)))
        assert keys == {"org-2", "org-3"}
