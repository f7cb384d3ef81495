"""Practitioners of one tenant. The caller binds the tenant and owns the transaction."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.identity.models import User
from transactional.providers.directory import audit_change, get_department
from transactional.providers.identifiers import check_npi, check_specialty_codes
from transactional.providers.models import Practitioner

EDITABLE = frozenset(
    {"display_name", "npi", "specialty_codes", "department_id", "user_id", "is_active"}
)


@dataclass(frozen=True)
class NewPractitioner:
    display_name: str
    npi: str | None = None
    specialty_codes: list[str] = field(default_factory=list)
    department_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None


def _display_name(value: str | None) -> str:
    name = (value or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("display_name must be 1 to 200 characters")
    return name


def _check_links(session: Session, practitioner: Practitioner) -> None:
    tenant_id = practitioner.tenant_id
    if practitioner.department_id is not None:
        get_department(
            session=session, tenant_id=tenant_id, department_id=practitioner.department_id
        )
    if practitioner.user_id is not None:
        user = session.scalar(
            select(User.id).where(User.tenant_id == tenant_id, User.id == practitioner.user_id)
        )
        if user is None:
            raise NotFound("user not found")
        linked = session.scalar(
            select(Practitioner.id).where(
                Practitioner.tenant_id == tenant_id,
                Practitioner.user_id == practitioner.user_id,
                Practitioner.id != practitioner.id,
            )
        )
        if linked is not None:
            raise Conflict("this user is already linked to another practitioner")
    if practitioner.npi is not None:
        holder = session.scalar(
            select(Practitioner.id).where(
                Practitioner.tenant_id == tenant_id,
                Practitioner.npi == practitioner.npi,
                Practitioner.id != practitioner.id,
            )
        )
        if holder is not None:
            raise Conflict("another practitioner already has this NPI")


def create_practitioner(
    *, session: Session, tenant_id: uuid.UUID, data: NewPractitioner, actor: Actor
) -> Practitioner:
    practitioner = Practitioner(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        display_name=_display_name(data.display_name),
        npi=check_npi(data.npi) if data.npi else None,
        specialty_codes=check_specialty_codes(data.specialty_codes),
        department_id=data.department_id,
        user_id=data.user_id,
        is_active=True,
    )
    with session.no_autoflush:
        _check_links(session, practitioner)
    session.add(practitioner)
    session.flush()
    audit_change(
        session,
        actor,
        tenant_id=tenant_id,
        action="practitioner.create",
        resource_id=practitioner.id,
    )
    return practitioner


def get_practitioner(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    practitioner_id: uuid.UUID,
    for_update: bool = False,
) -> Practitioner:
    query = select(Practitioner).where(
        Practitioner.tenant_id == tenant_id, Practitioner.id == practitioner_id
    )
    practitioner = session.scalar(query.with_for_update() if for_update else query)
    if practitioner is None:
        raise NotFound("practitioner not found")
    return practitioner


def list_practitioners(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    limit: int,
    after_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    include_inactive: bool = False,
) -> list[Practitioner]:
    """Ordered by display name; `after_id` is the last practitioner of the previous page."""
    query = select(Practitioner).where(Practitioner.tenant_id == tenant_id)
    if after_id is not None:
        after = get_practitioner(session=session, tenant_id=tenant_id, practitioner_id=after_id)
        query = query.where(
            tuple_(Practitioner.display_name, Practitioner.id)
            > tuple_(after.display_name, after.id)
        )
    if department_id is not None:
        query = query.where(Practitioner.department_id == department_id)
    if not include_inactive:
        query = query.where(Practitioner.is_active.is_(True))
    order = (Practitioner.display_name, Practitioner.id)
    return list(session.scalars(query.order_by(*order).limit(limit)))


def update_practitioner(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    practitioner_id: uuid.UUID,
    changes: Mapping[str, Any],
    actor: Actor,
) -> Practitioner:
    """Apply `changes` (field name to new value; `None` clears an optional link or the NPI)."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    practitioner = get_practitioner(
        session=session, tenant_id=tenant_id, practitioner_id=practitioner_id, for_update=True
    )
    with session.no_autoflush:
        if "display_name" in changes:
            practitioner.display_name = _display_name(changes["display_name"])
        if "npi" in changes:
            practitioner.npi = check_npi(changes["npi"]) if changes["npi"] else None
        if "specialty_codes" in changes:
            practitioner.specialty_codes = check_specialty_codes(changes["specialty_codes"] or [])
        if "is_active" in changes:
            if changes["is_active"] is None:
                raise InvalidInput("is_active must be true or false")
            practitioner.is_active = bool(changes["is_active"])
        for link in ("department_id", "user_id"):
            if link in changes:
                setattr(practitioner, link, changes[link])
        _check_links(session, practitioner)
    session.flush()
    audit_change(
        session,
        actor,
        tenant_id=tenant_id,
        action="practitioner.update",
        resource_id=practitioner.id,
        detail={"fields": ",".join(sorted(changes))},
    )
    return practitioner
