"""The small vocabulary the medication package speaks: severities, finding kinds, systems."""

from enum import StrEnum

from transactional.terminology.systems import CodeSystem

RXNORM = str(CodeSystem.RXNORM)
SNOMED = str(CodeSystem.SNOMEDCT)


class Severity(StrEnum):
    """How bad a finding is. Only `critical` (contraindicated) blocks signing."""

    CRITICAL = "critical"
    MAJOR = "major"
    MODERATE = "moderate"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Severity.CRITICAL: 3, Severity.MAJOR: 2, Severity.MODERATE: 1}


class FindingKind(StrEnum):
    INTERACTION = "interaction"
    ALLERGY = "allergy"
    DUPLICATE = "duplicate"


class PrescriptionStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    SENT = "sent"
    PARTIALLY_DISPENSED = "partially_dispensed"
    DISPENSED = "dispensed"
    CANCELLED = "cancelled"
    STOPPED = "stopped"


S = PrescriptionStatus
# What the patient is taking: signed, and neither cancelled nor stopped.
ON_MEDICATION = frozenset({S.ACTIVE, S.SENT, S.PARTIALLY_DISPENSED, S.DISPENSED})
DISPENSABLE = frozenset({S.ACTIVE, S.SENT, S.PARTIALLY_DISPENSED})
