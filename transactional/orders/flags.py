"""The abnormal flag of a numeric result (HL7 v2 table 0078 / FHIR ObservationInterpretation:
N, L, H, and LL/HH outside the critical limits)."""

from decimal import Decimal

CRITICAL = frozenset({"LL", "HH"})


def numeric_flag(
    value: Decimal,
    *,
    low: Decimal | None,
    high: Decimal | None,
    critical_low: Decimal | None,
    critical_high: Decimal | None,
) -> str | None:
    """Critical limits win over the reference interval; None when there is no interval and
    the value is not critical (nothing to call it normal against)."""
    if critical_low is not None and value < critical_low:
        return "LL"
    if critical_high is not None and value > critical_high:
        return "HH"
    if low is not None and value < low:
        return "L"
    if high is not None and value > high:
        return "H"
    if low is None and high is None:
        return None
    return "N"
