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
from transactional.providers.models import Department, Location, Practitioner
from transactional.scheduling.models import Appointment, ScheduleException, WorkingHours

__all__ = [
    "Allergy",
    "Appointment",
    "AuditEvent",
    "AuthSession",
    "Base",
    "Coverage",
    "Department",
    "Location",
    "MrnCounter",
    "Patient",
    "PatientIdentifier",
    "Payer",
    "Practitioner",
    "RefreshToken",
    "ScheduleException",
    "Tenant",
    "User",
    "WorkingHours",
]
