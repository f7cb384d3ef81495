from decimal import Decimal

import pytest

from transactional.errors import InvalidInput
from transactional.medications import sig


@pytest.mark.parametrize(
    ("raw", "value", "unit"),
    [
        ("500 mg", "500", "mg"),
        ("500mg", "500", "mg"),
        ("500 MG", "500", "mg"),
        (" 0.5 g ", "0.5", "g"),
        ("250 mcg", "250", "ug"),
        ("5 mL", "5", "mL"),
        ("5 ml", "5", "mL"),
        ("2 tablets", "2", "{tablet}"),
        ("1 cap", "1", "{capsule}"),
        ("2 puffs", "2", "{puff}"),
        ("10 units", "10", "[IU]"),
        ("1 {tablet}", "1", "{tablet}"),
        ({"value": "500", "unit": "mg"}, "500", "mg"),
        ({"value": 7.5, "unit": "mg"}, "7.5", "mg"),
        ({"value": 40, "unit": "mg"}, "40", "mg"),
    ],
)
def test_doses_are_read_into_a_value_and_a_ucum_unit(raw: object, value: str, unit: str) -> None:
    dose = sig.quantity(raw, "dose")

    assert (dose.value, dose.unit) == (Decimal(value), unit)
    assert str(dose.value) == value


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("500", "needs a unit"),
        ({"value": "500"}, "needs a unit"),
        ({"value": "500", "unit": ""}, "needs a unit"),
        (500, "needs a unit"),
        ("0 mg", "positive"),
        ({"value": "-1", "unit": "mg"}, "positive"),
        ("abc mg", "positive amount"),
        ({"value": "NaN", "unit": "mg"}, "finite"),
        ({"value": True, "unit": "mg"}, "number"),
        ("5 parsecs", "not a known UCUM unit"),
        ("0.0001 mg", "3 decimal places"),
        ("1000000000 mg", "at most 3 decimal places"),
    ],
)
def test_unreadable_doses_are_refused_with_the_reason(raw: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        sig.quantity(raw, "dose")


def test_a_quantity_may_be_a_bare_count() -> None:
    assert sig.quantity(30, "quantity", unit_required=False) == sig.Quantity(Decimal(30), "{each}")
    assert sig.quantity("30", "quantity", unit_required=False).unit == "{each}"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("oral", "26643006"),
        ("PO", "26643006"),
        ("p.o.", "26643006"),
        ("by mouth", "26643006"),
        ("IV", "47625008"),
        ("intravenous", "47625008"),
        ("IM", "78421000"),
        ("SC", "34206005"),
        ("subcut", "34206005"),
        ("SL", "37839007"),
        ("inhaled", "447694001"),
        ("PR", "37161004"),
        ("topical", "6064005"),
        ("IV push", "47625008"),
        ("nebulized", "447694001"),
        ({"system": "http://snomed.info/sct", "code": "47625008"}, "47625008"),
        ({"code": "IV"}, "47625008"),
        ("26643006", "26643006"),
    ],
)
def test_routes_are_read_into_snomed_ct(raw: object, code: str) -> None:
    route = sig.route(raw)

    assert route.code == code and route.system == "http://snomed.info/sct"
    assert route.display.endswith(")")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("telepathic", "unknown route"),
        ({"system": "http://snomed.info/sct", "code": "44054006"}, "not a route"),
        ({"system": "http://loinc.org", "code": "4548-4"}, "not accepted"),
        ("", "route must be"),
    ],
)
def test_unknown_routes_are_refused(raw: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        sig.route(raw)


@pytest.mark.parametrize(
    ("raw", "code", "per_day", "as_needed"),
    [
        ("daily", "QD", "1", False),
        ("once daily", "QD", "1", False),
        ("QD", "QD", "1", False),
        ("BID", "BID", "2", False),
        ("b.i.d.", "BID", "2", False),
        ("twice daily", "BID", "2", False),
        ("TID", "TID", "3", False),
        ("QID", "QID", "4", False),
        ("q8h", "Q8H", "3", False),
        ("every 6 hours", "Q6H", "4", False),
        ("q12h", "Q12H", "2", False),
        ("q24h", "QD", "1", False),
        ("QHS", "BED", "1", False),
        ("weekly", "WK", None, False),
        ("PRN", "PRN", None, True),
        ("as needed", "PRN", None, True),
        ("q4h PRN", "Q4H", "6", True),
        ("PRN pain", "PRN", None, True),
        ("every 6 hours as needed for pain", "Q6H", "4", True),
        (
            {"system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation", "code": "BID"},
            "BID",
            "2",
            False,
        ),
    ],
)
def test_frequencies_are_read_with_their_daily_count(
    raw: object, code: str, per_day: str | None, as_needed: bool
) -> None:
    frequency = sig.frequency(raw)

    assert frequency.code == code and frequency.as_needed is as_needed
    if per_day is not None:
        assert frequency.per_day == Decimal(per_day)
    elif code == "WK":
        assert frequency.per_day is not None and frequency.per_day < 1
    else:
        assert frequency.per_day is None


@pytest.mark.parametrize("raw", ["sometimes", "q5h", "q0h", "q48h", "", 3])
def test_unknown_frequencies_are_refused(raw: object) -> None:
    with pytest.raises(InvalidInput, match="frequency"):
        sig.frequency(raw)
