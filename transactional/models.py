"""Every mapped model, imported in one place so the metadata is complete for Alembic."""

from transactional.audit.models import AuditEvent
from transactional.base import Base
from transactional.identity.models import AuthSession, RefreshToken, Tenant, User
from transactional.patients.models import (
    Allergy,
    Coverage,
    MrnCounter,
    Patient,
    PatientIdentifier,
    Payer,
)

__all__ = [
    "Allergy",
    "AuditEvent",
    "AuthSession",
    "Base",
    "Coverage",
    "MrnCounter",
    "Patient",
    "PatientIdentifier",
    "Payer",
    "RefreshToken",
    "Tenant",
    "User",
]
