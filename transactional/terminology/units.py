"""UCUM units: validation against the shipped unit list and exact conversions between them.

Only conversions that hold whatever is measured are here. Mass-to-substance conversions
such as glucose mg/dL to mmol/L depend on the analyte and belong with the analyte.
"""

from decimal import Decimal
from fractions import Fraction

from transactional.errors import InvalidInput
from transactional.terminology.catalog import lookup, shown
from transactional.terminology.systems import CodeSystem

# unit: (dimension, scale, offset) with value_in_base = value * scale + offset.
# Every factor is exact by definition (the international inch and avoirdupois pound).
_CONVERTIBLE: dict[str, tuple[str, Fraction, Fraction]] = {
    "ug": ("mass", Fraction("0.000001"), Fraction(0)),
    "mg": ("mass", Fraction("0.001"), Fraction(0)),
    "g": ("mass", Fraction(1), Fraction(0)),
    "kg": ("mass", Fraction(1000), Fraction(0)),
    "[oz_av]": ("mass", Fraction("28.349523125"), Fraction(0)),
    "[lb_av]": ("mass", Fraction("453.59237"), Fraction(0)),
    "mm": ("length", Fraction("0.1"), Fraction(0)),
    "cm": ("length", Fraction(1), Fraction(0)),
    "m": ("length", Fraction(100), Fraction(0)),
    "[in_i]": ("length", Fraction("2.54"), Fraction(0)),
    "[ft_i]": ("length", Fraction("30.48"), Fraction(0)),
    "Cel": ("temperature", Fraction(1), Fraction(0)),
    "[degF]": ("temperature", Fraction(5, 9), Fraction(-160, 9)),
    "mL": ("volume", Fraction("0.001"), Fraction(0)),
    "L": ("volume", Fraction(1), Fraction(0)),
    "pg/mL": ("mass concentration", Fraction("0.000001"), Fraction(0)),
    "ng/mL": ("mass concentration", Fraction("0.001"), Fraction(0)),
    "ug/L": ("mass concentration", Fraction("0.001"), Fraction(0)),
    "ug/dL": ("mass concentration", Fraction("0.01"), Fraction(0)),
    "mg/L": ("mass concentration", Fraction(1), Fraction(0)),
    "mg/dL": ("mass concentration", Fraction(10), Fraction(0)),
    "g/L": ("mass concentration", Fraction(1000), Fraction(0)),
    "g/dL": ("mass concentration", Fraction(10000), Fraction(0)),
    "10*3/uL": ("number concentration", Fraction(1), Fraction(0)),
    "10*9/L": ("number concentration", Fraction(1), Fraction(0)),
    "umol/L": ("substance concentration", Fraction("0.001"), Fraction(0)),
    "mmol/L": ("substance concentration", Fraction(1), Fraction(0)),
}


def validate_unit(unit: str) -> str:
    """The UCUM code `unit` names; UCUM is case-sensitive, so `KG` is not `kg`."""
    concept = lookup(CodeSystem.UCUM, unit)
    if concept is None:
        raise InvalidInput(f"unknown UCUM unit {shown(unit)!r}")
    return concept.code


def convert(value: Decimal, from_unit: str, to_unit: str) -> Decimal:
    """`value` in `from_unit` expressed in `to_unit`, exact up to the Decimal context."""
    source, target = validate_unit(from_unit), validate_unit(to_unit)
    if not value.is_finite():
        raise InvalidInput("a measurement must be a finite number")
    if source == target:
        return value
    source_rule, target_rule = _CONVERTIBLE.get(source), _CONVERTIBLE.get(target)
    if source_rule is None or target_rule is None or source_rule[0] != target_rule[0]:
        raise InvalidInput(f"no conversion from {source!r} to {target!r}")
    _, source_scale, source_offset = source_rule
    _, target_scale, target_offset = target_rule
    result = ((Fraction(value) * source_scale + source_offset) - target_offset) / target_scale
    return Decimal(result.numerator) / Decimal(result.denominator)
