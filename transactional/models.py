"""Every mapped model, imported in one place so the metadata is complete for Alembic."""

from transactional.audit.models import AuditEvent
from transactional.base import Base
from transactional.identity.models import AuthSession, RefreshToken, Tenant, User

__all__ = ["AuditEvent", "AuthSession", "Base", "RefreshToken", "Tenant", "User"]
