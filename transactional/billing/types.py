"""The vocabulary of billing: statuses, kinds and methods, one enumeration each.

The database CHECK constraints are generated from these, so a value the code does not know
cannot be stored.
"""

from enum import StrEnum


class ChargeStatus(StrEnum):
    ACTIVE = "active"
    VOID = "void"


class InvoiceStatus(StrEnum):
    """Derived by the database from the invoice's totals (a generated column), never set."""

    OPEN = "open"
    PAID_IN_FULL = "paid_in_full"
    VOID = "void"


class ClaimStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    DENIED = "denied"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"


class ClaimAction(StrEnum):
    CREATE = "create"
    SUBMIT = "submit"
    ACCEPT = "accept"
    DENY = "deny"
    REPLACE = "replace"
    REMIT = "remit"
    IMPORT = "import"


class FrequencyCode(StrEnum):
    """CLM05-3 of an 837P: an original claim, or the replacement of a prior claim."""

    ORIGINAL = "1"
    REPLACEMENT = "7"


class PaymentSource(StrEnum):
    PAYER = "payer"
    PATIENT = "patient"


class PaymentMethod(StrEnum):
    CASH = "cash"
    CHECK = "check"
    CARD = "card"
    EFT = "eft"
    OTHER = "other"


class AdjustmentKind(StrEnum):
    """`contractual` and `write_off` reduce what is owed; `patient_responsibility` moves part
    of it from the payer to the patient and leaves the balance unchanged."""

    CONTRACTUAL = "contractual"
    WRITE_OFF = "write_off"
    PATIENT_RESPONSIBILITY = "patient_responsibility"


class GroupCode(StrEnum):
    """CAS01 claim adjustment group codes of the X12 835."""

    CO = "CO"
    OA = "OA"
    PI = "PI"
    PR = "PR"


def listed(values: type[StrEnum]) -> tuple[str, ...]:
    return tuple(value.value for value in values)
