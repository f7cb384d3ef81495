"""Reading a prescription's dose, route, frequency and quantity from what callers write.

Prescribers and feeds write "500 mg", "PO", "BID", "q8h", "twice daily", "2 tablets"; this
module turns each into one stored form (a UCUM unit, a SNOMED CT route, a frequency code
with its daily count) or says precisely what it cannot read. It never guesses a unit.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from transactional.errors import InvalidInput
from transactional.medications.types import SNOMED
from transactional.terminology.catalog import lookup, shown, validate
from transactional.terminology.units import validate_unit

# UCUM units a dose or quantity may use beyond the shipped UCUM subset: the unity
# annotations UCUM defines for countable dose forms, and the international unit.
DOSE_FORM_UNITS = {
    "{tablet}": "tablet",
    "{capsule}": "capsule",
    "{puff}": "puff",
    "{actuation}": "actuation",
    "{drop}": "drop",
    "{patch}": "patch",
    "{spray}": "spray",
    "{suppository}": "suppository",
    "{syringe}": "syringe",
    "{vial}": "vial",
    "{pack}": "pack",
    "{each}": "each",
    "[IU]": "international unit",
}
_UNIT_WORDS = {
    "mg": "mg",
    "milligram": "mg",
    "g": "g",
    "gm": "g",
    "gram": "g",
    "mcg": "ug",
    "ug": "ug",
    "µg": "ug",
    "μg": "ug",
    "microgram": "ug",
    "kg": "kg",
    "ml": "mL",
    "milliliter": "mL",
    "millilitre": "mL",
    "cc": "mL",
    "l": "L",
    "liter": "L",
    "litre": "L",
    "tab": "{tablet}",
    "tablet": "{tablet}",
    "cap": "{capsule}",
    "capsule": "{capsule}",
    "puff": "{puff}",
    "inhalation": "{puff}",
    "actuation": "{actuation}",
    "actuat": "{actuation}",
    "drop": "{drop}",
    "gtt": "{drop}",
    "patch": "{patch}",
    "spray": "{spray}",
    "suppository": "{suppository}",
    "syringe": "{syringe}",
    "vial": "{vial}",
    "pack": "{pack}",
    "each": "{each}",
    "ea": "{each}",
    "unit": "[IU]",
    "iu": "[IU]",
    "[iu]": "[IU]",
    "u": "[IU]",
}
_MAX_VALUE = Decimal("99999999")


@dataclass(frozen=True, slots=True)
class Quantity:
    value: Decimal
    unit: str


def _number(raw: object, field: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise InvalidInput(f"{field} must be a number")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise InvalidInput(f"{field} must be a number") from None
    if not value.is_finite():
        raise InvalidInput(f"{field} must be a finite number")
    if value <= 0:
        raise InvalidInput(f"{field} must be positive")
    if value > _MAX_VALUE or value != value.quantize(Decimal("0.001")):
        raise InvalidInput(f"{field} must be below 10^8 with at most 3 decimal places")
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def unit(raw: str, field: str) -> str:
    """The UCUM code for a unit as written: `mg`, `MG`, `mcg`, `tablets`, `{tablet}`, `[IU]`."""
    text = raw.strip()
    if text in DOSE_FORM_UNITS:
        return text
    folded = text.casefold()
    word = _UNIT_WORDS.get(folded) or _UNIT_WORDS.get(folded.removesuffix("s"))
    if word is not None:
        return word
    if lookup("UCUM", text) is None:
        raise InvalidInput(f"{field} unit {shown(text)!r} is not a known UCUM unit")
    return validate_unit(text)


_AMOUNT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*(.*?)\s*$")


def quantity(raw: object, field: str, *, unit_required: bool = True) -> Quantity:
    """`"500 mg"`, `"500mg"`, `{"value": "500", "unit": "mg"}` or (without a unit) `30`."""
    if isinstance(raw, dict):
        value = _number(raw.get("value"), field)
        written = raw.get("unit")
        if written is None or (isinstance(written, str) and not written.strip()):
            if unit_required:
                raise InvalidInput(f"{field} needs a unit, e.g. mg")
            return Quantity(value, "{each}")
        if not isinstance(written, str):
            raise InvalidInput(f"{field} unit must be text")
        return Quantity(value, unit(written, field))
    if isinstance(raw, str):
        match = _AMOUNT.match(raw)
        if match is None:
            raise InvalidInput(f"{field} must be a positive amount with a unit, e.g. '500 mg'")
        value = _number(match.group(1), field)
        if not match.group(2):
            if unit_required:
                raise InvalidInput(f"{field} needs a unit, e.g. '500 mg'")
            return Quantity(value, "{each}")
        return Quantity(value, unit(match.group(2), field))
    if unit_required:
        raise InvalidInput(f"{field} needs a unit, e.g. '500 mg'")
    return Quantity(_number(raw, field), "{each}")


@dataclass(frozen=True, slots=True)
class Route:
    code: str
    display: str
    system: str = SNOMED


ROUTES = {
    "oral": "26643006",
    "intravenous": "47625008",
    "intramuscular": "78421000",
    "subcutaneous": "34206005",
    "topical": "6064005",
    "sublingual": "37839007",
    "inhalation": "447694001",
    "rectal": "37161004",
    "transdermal": "45890007",
    "nasal": "46713006",
    "ophthalmic": "54485002",
    "otic": "10547007",
    "vaginal": "16857009",
    "buccal": "54471007",
}
_ROUTE_WORDS = {
    "po": "oral",
    "by mouth": "oral",
    "per os": "oral",
    "mouth": "oral",
    "iv": "intravenous",
    "ivpb": "intravenous",
    "im": "intramuscular",
    "sc": "subcutaneous",
    "sq": "subcutaneous",
    "subq": "subcutaneous",
    "subcut": "subcutaneous",
    "sub-q": "subcutaneous",
    "top": "topical",
    "sl": "sublingual",
    "inh": "inhalation",
    "inhaled": "inhalation",
    "respiratory": "inhalation",
    "pr": "rectal",
    "per rectum": "rectal",
    "rectally": "rectal",
    "td": "transdermal",
    "intranasal": "nasal",
    "nasally": "nasal",
    "in": "nasal",
    "eye": "ophthalmic",
    "ear": "otic",
    "pv": "vaginal",
    "per vagina": "vaginal",
    "vaginally": "vaginal",
    "orally": "oral",
    "oral route": "oral",
    "intravenously": "intravenous",
    "iv push": "intravenous",
    "ivp": "intravenous",
    "intramuscularly": "intramuscular",
    "subcutaneously": "subcutaneous",
    "sublingually": "sublingual",
    "nebulized": "inhalation",
    "neb": "inhalation",
    "topically": "topical",
}
_ROUTE_CODES = frozenset(ROUTES.values())


def route(raw: object) -> Route:
    """A route word or abbreviation, or a SNOMED CT route coding."""
    if isinstance(raw, dict):
        system, code = raw.get("system"), raw.get("code")
        if not isinstance(code, str) or not code.strip():
            raise InvalidInput("route coding needs a code")
        if system is None:
            return route(code)
        if not isinstance(system, str):
            raise InvalidInput("route coding system must be text")
        concept = validate(system, code, allowed=(SNOMED,))
        if concept.code not in _ROUTE_CODES:
            raise InvalidInput(f"SNOMED CT {concept.code} is not a route of administration")
        return Route(concept.code, concept.display or concept.code)
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput("route must be a route name such as 'oral' or 'IV', or a coding")
    text = " ".join(raw.strip().casefold().replace(".", "").split())
    name = text if text in ROUTES else _ROUTE_WORDS.get(text)
    if name is None and text in _ROUTE_CODES:
        return route({"system": SNOMED, "code": text})
    if name is None:
        raise InvalidInput(f"unknown route {shown(raw.strip())!r}; use e.g. oral, IV, IM, SC")
    concept = validate(SNOMED, ROUTES[name])
    return Route(concept.code, concept.display or concept.code)


@dataclass(frozen=True, slots=True)
class Frequency:
    """`code` is an HL7 GTS-style abbreviation (BID, Q8H...); `per_day` is None when only
    taken as needed."""

    code: str
    display: str
    per_day: Decimal | None
    as_needed: bool


_FIXED: dict[str, tuple[str, Decimal]] = {
    "QD": ("once daily", Decimal(1)),
    "BID": ("twice daily", Decimal(2)),
    "TID": ("three times daily", Decimal(3)),
    "QID": ("four times daily", Decimal(4)),
    "QOD": ("every other day", Decimal("0.5")),
    "AM": ("every morning", Decimal(1)),
    "PM": ("every evening", Decimal(1)),
    "BED": ("at bedtime", Decimal(1)),
    "WK": ("once weekly", Decimal(1) / Decimal(7)),
}
_FREQUENCY_WORDS = {
    "daily": "QD",
    "once daily": "QD",
    "once a day": "QD",
    "every day": "QD",
    "od": "QD",
    "qday": "QD",
    "q24h": "QD",
    "qdaily": "QD",
    "twice daily": "BID",
    "twice a day": "BID",
    "two times daily": "BID",
    "two times a day": "BID",
    "three times daily": "TID",
    "three times a day": "TID",
    "four times daily": "QID",
    "four times a day": "QID",
    "every other day": "QOD",
    "alternate days": "QOD",
    "qam": "AM",
    "every morning": "AM",
    "in the morning": "AM",
    "qpm": "PM",
    "every evening": "PM",
    "in the evening": "PM",
    "qhs": "BED",
    "hs": "BED",
    "at bedtime": "BED",
    "nightly": "BED",
    "every night": "BED",
    "weekly": "WK",
    "once weekly": "WK",
    "once a week": "WK",
    "qwk": "WK",
    "qw": "WK",
}
_EVERY_HOURS = re.compile(r"^(?:q|every )\s*([0-9]{1,2})\s*(?:h|hr|hrs|hours?)$")
_PRN = re.compile(r"(?:^|\s)(?:prn|as needed|when needed|as required)(?:\s.*)?$")


def frequency(raw: object) -> Frequency:
    """`BID`, `twice daily`, `q8h`, `every 6 hours`, `daily`, `PRN`, `q4h PRN`, or a coding."""
    if isinstance(raw, dict):
        code = raw.get("code")
        if not isinstance(code, str) or not code.strip():
            raise InvalidInput("frequency coding needs a code")
        return frequency(code)
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput("frequency must be text such as 'BID', 'q8h' or 'daily', or a coding")
    text = " ".join(raw.strip().casefold().replace(".", "").split())
    as_needed = False
    prn = _PRN.search(text)
    if prn is not None:
        as_needed = True
        text = text[: prn.start()].strip()
    if not text:
        return Frequency("PRN", "as needed", None, True)
    code = text.upper() if text.upper() in _FIXED else _FREQUENCY_WORDS.get(text)
    if code is not None:
        display, per_day = _FIXED[code]
    else:
        hours = _EVERY_HOURS.match(text)
        if hours is None or not 1 <= int(hours.group(1)) <= 24 or 24 % int(hours.group(1)):
            raise InvalidInput(
                f"unknown frequency {shown(raw.strip())!r}; use e.g. daily, BID, TID, q8h, PRN"
            )
        every = int(hours.group(1))
        if every == 24:
            code, display, per_day = "QD", _FIXED["QD"][0], _FIXED["QD"][1]
        else:
            code, display, per_day = f"Q{every}H", f"every {every} hours", Decimal(24 // every)
    if as_needed:
        return Frequency(code, f"{display}, as needed", per_day, True)
    return Frequency(code, display, per_day, False)
