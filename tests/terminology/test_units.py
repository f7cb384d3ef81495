from decimal import Decimal

import pytest

from transactional.errors import InvalidInput
from transactional.terminology.units import _CONVERTIBLE, convert, validate_unit


def test_kilograms_convert_to_pounds_exactly() -> None:
    pounds = convert(Decimal(70), "kg", "[lb_av]")

    assert pounds == Decimal(70) / Decimal("0.45359237")
    assert str(pounds).startswith("154.32358352941")


def test_pounds_convert_to_kilograms_exactly() -> None:
    assert convert(Decimal(150), "[lb_av]", "kg") == Decimal("68.0388555")


def test_celsius_converts_to_fahrenheit_exactly() -> None:
    assert convert(Decimal(37), "Cel", "[degF]") == Decimal("98.6")
    assert convert(Decimal(-40), "Cel", "[degF]") == Decimal(-40)


def test_fahrenheit_converts_to_celsius_exactly() -> None:
    assert convert(Decimal("98.6"), "[degF]", "Cel") == Decimal(37)


def test_inches_convert_to_centimetres_exactly() -> None:
    assert convert(Decimal(12), "[in_i]", "cm") == Decimal("30.48")
    assert convert(Decimal(1), "[ft_i]", "[in_i]") == Decimal(12)


def test_same_unit_returns_the_value_unchanged() -> None:
    assert str(convert(Decimal("72.50"), "kg", "kg")) == "72.50"


def test_unknown_unit_is_rejected() -> None:
    with pytest.raises(InvalidInput, match=r"^unknown UCUM unit 'furlong'$"):
        validate_unit("furlong")


def test_unit_case_matters() -> None:
    assert validate_unit("mg/dL") == "mg/dL"
    with pytest.raises(InvalidInput):
        validate_unit("MG/DL")


def test_conversion_across_dimensions_is_rejected() -> None:
    with pytest.raises(InvalidInput, match=r"^no conversion from 'kg' to 'cm'$"):
        convert(Decimal(1), "kg", "cm")


def test_analyte_specific_conversion_is_not_offered() -> None:
    with pytest.raises(InvalidInput, match="no conversion"):
        convert(Decimal(100), "mg/dL", "mmol/L")


def test_conversion_to_unknown_unit_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="unknown UCUM unit"):
        convert(Decimal(1), "kg", "stone")


def test_non_finite_value_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="finite"):
        convert(Decimal("NaN"), "kg", "[lb_av]")


def test_every_convertible_unit_is_a_shipped_ucum_unit() -> None:
    for unit in _CONVERTIBLE:
        assert validate_unit(unit) == unit
