"""Building the data a rule sees, for pure evaluator tests."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from transactional.cds.definitions import Rule, rule_book
from transactional.cds.evaluate import Facts, snapshot
from transactional.cds.types import Datum

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
T0 = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)

# input name -> (code, unit) as the vitals service stores them
CODES = {
    "systolic": ("8480-6", "mm[Hg]"),
    "diastolic": ("8462-4", "mm[Hg]"),
    "heart_rate": ("8867-4", "/min"),
    "respiratory_rate": ("9279-1", "/min"),
    "temperature": ("8310-5", "Cel"),
    "oxygen_saturation": ("59408-5", "%"),
    "inspired_oxygen": ("3150-0", "%"),
    "paco2": ("2019-8", "mm[Hg]"),
    "leukocytes": ("6690-2", "10*3/uL"),
    "band_forms": ("26508-2", "%"),
}
ACVPU = "1104441000000107"
ALERT, CONFUSED, VOICE, PAIN, UNRESPONSIVE = (
    "248234008",
    "286933003",
    "300202002",
    "450847001",
    "422768004",
)


def rule(rule_id: str) -> Rule:
    return rule_book().by_id(rule_id)


def measured(name: str, value: str | int, *, minutes: int = 0) -> Datum:
    code, unit = CODES[name]
    return Datum(LOINC, code, T0 + timedelta(minutes=minutes), Decimal(str(value)), unit)


def consciousness(answer: str, *, minutes: int = 0) -> Datum:
    return Datum(SNOMED, ACVPU, T0 + timedelta(minutes=minutes), answer=answer)


def facts_of(rule_id: str, **values: str | int) -> Facts:
    """Facts for a rule from numeric inputs by name (taken together at T0)."""
    return snapshot(rule(rule_id), [measured(name, value) for name, value in values.items()])
