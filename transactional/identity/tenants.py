"""Creating tenants: an administrative act, done as the owner role (the app role cannot)."""

import re
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from transactional.audit.trail import SYSTEM, Actor, AuditEntry, record
from transactional.errors import Conflict, InvalidInput
from transactional.identity.models import Tenant
from transactional.tenancy import bind_tenant

_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63].strip("-")


def create_tenant(*, owner_session: Session, name: str, slug: str | None = None) -> Tenant:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("tenant name must be 1 to 200 characters")
    slug = slug or slugify(name)
    if not _SLUG.match(slug) or len(slug) > 63:
        raise InvalidInput(
            "tenant slug must be lowercase letters and digits separated by single hyphens"
        )
    if owner_session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise Conflict(f"tenant slug {slug!r} already exists")
    tenant = Tenant(id=uuid.uuid4(), slug=slug, name=name)
    owner_session.add(tenant)
    owner_session.flush()
    owner_session.execute(select(func.app_create_mrn_sequence(tenant.id)))
    return tenant


def register_tenant(
    *, owner_session: Session, name: str, slug: str | None = None, actor: Actor = SYSTEM
) -> Tenant:
    """A new tenant with its audit event, in the owner's transaction."""
    tenant = create_tenant(owner_session=owner_session, name=name, slug=slug)
    bind_tenant(owner_session, tenant.id)
    record(
        session=owner_session,
        tenant_id=tenant.id,
        actor=actor,
        entry=AuditEntry(action="tenant.create", resource_type="tenant", resource_id=tenant.id),
    )
    return tenant


def ensure_tenant(
    *, owner_session: Session, slug: str, name: str | None = None, actor: Actor = SYSTEM
) -> tuple[Tenant, bool]:
    """The tenant with `slug`, registered if there is none yet; and whether it is new."""
    found = owner_session.scalar(select(Tenant).where(Tenant.slug == slug))
    if found is not None:
        return found, False
    tenant = register_tenant(owner_session=owner_session, name=name or slug, slug=slug, actor=actor)
    return tenant, True


def tenant_id_for_slug(*, session: Session, slug: str) -> uuid.UUID | None:
    """Resolve a slug as the app role, which cannot list other tenants."""
    result: uuid.UUID | None = session.scalar(select(func.app_tenant_id_for_slug(slug)))
    return result


def get_current_tenant(*, session: Session, tenant_id: uuid.UUID) -> Tenant | None:
    return session.get(Tenant, tenant_id)
