"""Every mapped model, imported in one place so the metadata is complete for Alembic."""

from transactional.alerts import models as alerts_models  # noqa: F401 - registers tables
from transactional.audit.models import AuditEvent
from transactional.base import Base
from transactional.billing import models as billing_models  # noqa: F401 - registers tables
from transactional.capture.models import ChangeRecord
from transactional.charting.models import ClinicalNote, Condition, Encounter, Observation, Procedure
from transactional.identity.models import AuthSession, RefreshToken, Tenant, User
from transactional.medications import models as medications_models  # noqa: F401 - registers tables
from transactional.orders import models as orders_models  # noqa: F401 - registers tables
from transactional.patients.models import (
    Allergy,
    Coverage,
    Patient,
    PatientIdentifier,
    Payer,
)
from transactional.pharmacy import models as pharmacy_models  # noqa: F401 - registers tables
from transactional.providers.models import Department, Location, Practitioner
from transactional.risk import models as risk_models  # noqa: F401 - registers tables
from transactional.scheduling.models import Appointment, ScheduleException, WorkingHours
from transactional.synthea import models as synthea_models  # noqa: F401 - registers tables

__all__ = [
    "Allergy",
    "Appointment",
    "AuditEvent",
    "AuthSession",
    "Base",
    "ChangeRecord",
    "ClinicalNote",
    "Condition",
    "Coverage",
    "Department",
    "Encounter",
    "Location",
    "Observation",
    "Patient",
    "PatientIdentifier",
    "Payer",
    "Practitioner",
    "Procedure",
    "RefreshToken",
    "ScheduleException",
    "Tenant",
    "User",
    "WorkingHours",
]
