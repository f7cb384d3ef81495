"""Departments and locations of one tenant. The caller binds the tenant and owns the transaction."""

import uuid
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.providers.models import Department, Location

LOCATION_FIELDS = frozenset({"name", "time_zone", "is_active"})


def audit_change(
    session: Session,
    actor: Actor,
    *,
    tenant_id: uuid.UUID,
    action: str,
    resource_id: uuid.UUID,
    detail: Mapping[str, str | int | bool | None] | None = None,
) -> None:
    """`action` is `<resource type>.<verb>`. Provider records hold no PHI: no patient id."""
    entry = AuditEntry(
        action=action,
        resource_type=action.partition(".")[0],
        resource_id=resource_id,
        detail=detail or {},
    )
    record(session=session, tenant_id=tenant_id, actor=actor, entry=entry)


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            "time_zone must be an IANA time zone name, e.g. America/New_York"
        ) from None


def _name(value: str | None) -> str:
    name = (value or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("name must be 1 to 200 characters")
    return name


def create_department(
    *, session: Session, tenant_id: uuid.UUID, name: str, actor: Actor
) -> Department:
    name = _name(name)
    taken = session.scalar(
        select(Department.id).where(Department.tenant_id == tenant_id, Department.name == name)
    )
    if taken is not None:
        raise Conflict("a department with this name already exists")
    department = Department(id=uuid.uuid4(), tenant_id=tenant_id, name=name)
    session.add(department)
    session.flush()
    audit_change(
        session, actor, tenant_id=tenant_id, action="department.create", resource_id=department.id
    )
    return department


def list_departments(*, session: Session, tenant_id: uuid.UUID) -> list[Department]:
    query = select(Department).where(Department.tenant_id == tenant_id)
    return list(session.scalars(query.order_by(Department.name)))


def get_department(
    *, session: Session, tenant_id: uuid.UUID, department_id: uuid.UUID
) -> Department:
    department = session.scalar(
        select(Department).where(Department.tenant_id == tenant_id, Department.id == department_id)
    )
    if department is None:
        raise NotFound("department not found")
    return department


def _check_location_name_free(
    session: Session, tenant_id: uuid.UUID, name: str, location_id: uuid.UUID | None
) -> None:
    query = select(Location.id).where(Location.tenant_id == tenant_id, Location.name == name)
    if location_id is not None:
        query = query.where(Location.id != location_id)
    if session.scalar(query) is not None:
        raise Conflict("a location with this name already exists")


def create_location(
    *, session: Session, tenant_id: uuid.UUID, name: str, time_zone: str, actor: Actor
) -> Location:
    name = _name(name)
    zone(time_zone)
    _check_location_name_free(session, tenant_id, name, None)
    location = Location(
        id=uuid.uuid4(), tenant_id=tenant_id, name=name, time_zone=time_zone, is_active=True
    )
    session.add(location)
    session.flush()
    audit_change(
        session,
        actor,
        tenant_id=tenant_id,
        action="location.create",
        resource_id=location.id,
        detail={"time_zone": time_zone},
    )
    return location


def list_locations(
    *, session: Session, tenant_id: uuid.UUID, include_inactive: bool = False
) -> list[Location]:
    query = select(Location).where(Location.tenant_id == tenant_id)
    if not include_inactive:
        query = query.where(Location.is_active.is_(True))
    return list(session.scalars(query.order_by(Location.name)))


def get_location(
    *, session: Session, tenant_id: uuid.UUID, location_id: uuid.UUID, for_update: bool = False
) -> Location:
    query = select(Location).where(Location.tenant_id == tenant_id, Location.id == location_id)
    location = session.scalar(query.with_for_update() if for_update else query)
    if location is None:
        raise NotFound("location not found")
    return location


def update_location(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    changes: Mapping[str, Any],
    actor: Actor,
) -> Location:
    """Apply `changes` (field name to new value). Working hours stay in local time, so a new
    time zone moves them with it."""
    unknown = set(changes) - LOCATION_FIELDS
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    location = get_location(
        session=session, tenant_id=tenant_id, location_id=location_id, for_update=True
    )
    if "name" in changes:
        location.name = _name(changes["name"])
        _check_location_name_free(session, tenant_id, location.name, location.id)
    if "time_zone" in changes:
        zone(changes["time_zone"] or "")
        location.time_zone = changes["time_zone"]
    if "is_active" in changes:
        if changes["is_active"] is None:
            raise InvalidInput("is_active must be true or false")
        location.is_active = bool(changes["is_active"])
    session.flush()
    audit_change(
        session,
        actor,
        tenant_id=tenant_id,
        action="location.update",
        resource_id=location.id,
        detail={"fields": ",".join(sorted(changes))},
    )
    return location
