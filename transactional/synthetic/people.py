"""Who the patients are: demographics, names, addresses, contacts and body size.

Vectorised over the whole population; every draw comes from the caller's generator, so the
same seed gives the same people.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files

import numpy as np
from numpy.typing import NDArray

from transactional.synthetic import model

Strings = NDArray[np.str_]

STREETS = (
    "Main St", "Washington St", "Maple Ave", "Oak St", "Pleasant St", "Park Ave", "Elm St",
    "High St", "Summer St", "School St", "Center St", "Chestnut St", "Franklin St", "Union St",
    "Spring St", "Walnut St", "Highland Ave", "Prospect St", "Central St", "Adams St",
    "Cedar St", "Pine St", "Beacon St", "Broadway", "Church St", "Lincoln St", "Water St",
    "Hancock St", "Commonwealth Ave", "Massachusetts Ave", "Tremont St", "Columbus Ave",
)  # fmt: skip
RELATIONSHIPS = ("spouse", "parent", "child", "sibling", "friend")


def _rows(name: str) -> list[dict[str, str]]:
    text = files("transactional.synthetic").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@dataclass(frozen=True)
class Choices:
    values: Strings
    weights: NDArray[np.float64]

    def draw(self, rng: np.random.Generator, size: int) -> Strings:
        drawn: Strings = self.values[rng.choice(len(self.values), size=size, p=self.weights)]
        return drawn


def _choices(rows: list[dict[str, str]], value: str) -> Choices:
    weights = np.array([float(r["weight"]) for r in rows])
    return Choices(np.array([r[value] for r in rows]), weights / weights.sum())


@cache
def surnames(origin: str) -> Choices:
    return _choices([r for r in _rows("surnames.csv") if r["origin"] == origin], "surname")


@cache
def given_names(sex: str) -> Choices:
    return _choices([r for r in _rows("given_names.csv") if r["sex"] == sex], "name")


@cache
def places() -> tuple[list[dict[str, str]], NDArray[np.float64]]:
    rows = _rows("places.csv")
    weights = np.array([float(r["weight"]) for r in rows])
    return rows, weights / weights.sum()


@dataclass
class People:
    """One entry per patient, in generation order."""

    birth_date: NDArray[np.datetime64]
    female: NDArray[np.bool_]
    race: Strings
    hispanic: NDArray[np.bool_]
    given_name: Strings
    middle_name: NDArray[np.object_]
    family_name: Strings
    preferred_language: Strings
    address_line1: Strings
    city: Strings
    state: Strings
    postal_code: Strings
    phone: Strings
    email: NDArray[np.object_]
    emergency_contact_name: NDArray[np.object_]
    emergency_contact_relationship: NDArray[np.object_]
    emergency_contact_phone: NDArray[np.object_]
    height_cm: NDArray[np.float64]  # adult height (children grow towards it)
    bmi_baseline: NDArray[np.float64]  # at the start of the history
    smoker: NDArray[np.float64]
    former_smoker: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.birth_date)

    def age_on(self, day: np.datetime64) -> NDArray[np.float64]:
        days = (day - self.birth_date).astype("timedelta64[D]").astype(np.float64)
        result: NDArray[np.float64] = days / 365.25
        return result


def _ages(rng: np.random.Generator, n: int) -> NDArray[np.float64]:
    shares = np.array([share for _, _, share in model.AGE_BANDS])
    band = rng.choice(len(shares), size=n, p=shares / shares.sum())
    low = np.array([b[0] for b in model.AGE_BANDS])[band]
    high = np.array([b[1] for b in model.AGE_BANDS])[band]
    ages: NDArray[np.float64] = rng.uniform(low, high)
    return ages


def _phones(rng: np.random.Generator, area: Strings) -> Strings:
    """Fictional numbers: the 555-0100..555-0199 block is reserved for fiction."""
    last = rng.integers(100, 200, size=len(area))
    phones: Strings = np.char.add(np.char.add(np.char.add("(", area), ") 555-0"), last.astype(str))
    return phones


def _where_known(mask: NDArray[np.bool_], values: NDArray[np.str_]) -> NDArray[np.object_]:
    """`values` where `mask`, None elsewhere (an optional column)."""
    result = values.astype(object)
    result[~mask] = None
    return result


def draw_people(rng: np.random.Generator, n: int, *, as_of: date) -> People:
    as_of_day = np.datetime64(as_of, "D")
    age = _ages(rng, n)
    birth = as_of_day - (age * 365.25).astype("timedelta64[D]")
    female = rng.random(n) < model.FEMALE_SHARE
    race_names = np.array([r[0] for r in model.RACES])
    race_shares = np.array([r[1] for r in model.RACES])
    race_index = rng.choice(len(race_names), size=n, p=race_shares / race_shares.sum())
    hispanic = rng.random(n) < np.array([r[2] for r in model.RACES])[race_index]
    race = race_names[race_index]

    origin = np.where(hispanic, "hispanic", np.where(race == "Asian", "asian", "general"))
    family = np.empty(n, dtype=object)
    for group in ("general", "hispanic", "asian"):
        mask = origin == group
        family[mask] = surnames(group).draw(rng, int(mask.sum()))
    given = np.empty(n, dtype=object)
    middle = np.full(n, None, dtype=object)
    for sex, mask in (("female", female), ("male", ~female)):
        count = int(mask.sum())
        given[mask] = given_names(sex).draw(rng, count)
        has_middle = rng.random(count) < 0.35
        middles = given_names(sex).draw(rng, count)
        middle[np.flatnonzero(mask)[has_middle]] = middles[has_middle]

    language = np.where(
        hispanic & (rng.random(n) < 0.55),
        "es",
        np.where((race == "Asian") & (rng.random(n) < 0.3), "zh", "en"),
    )

    rows, weights = places()
    place = rng.choice(len(rows), size=n, p=weights)
    postal = np.array([r["postal_code"] for r in rows])[place]
    city = np.array([r["city"] for r in rows])[place]
    state = np.array([r["state"] for r in rows])[place]
    area = np.array([r["area_code"] for r in rows])[place]
    house = rng.integers(1, 400, size=n).astype(str)
    street = np.array(STREETS)[rng.integers(0, len(STREETS), size=n)]
    line1 = np.char.add(np.char.add(house, " "), street)
    phone = _phones(rng, area)

    adult = age >= 18
    with_email = adult & (rng.random(n) < 0.6)
    email = np.full(n, None, dtype=object)
    numbers = rng.integers(1, 1000, size=n).astype(str)
    handles = np.char.add(
        np.char.add(np.char.lower(given.astype(str)), "."),
        np.char.lower(np.char.replace(family.astype(str), "'", "")),
    )
    email[with_email] = np.char.add(np.char.add(handles, numbers), "@example.com")[with_email]

    contact = rng.random(n) < np.where(adult, 0.7, 1.0)
    contact_given = given_names("female").draw(rng, n)
    contact_name = np.char.add(np.char.add(contact_given, " "), family.astype(str))
    relationship = np.where(adult, np.array(RELATIONSHIPS)[rng.integers(0, 5, size=n)], "parent")
    emergency_name = _where_known(contact, contact_name)
    emergency_relationship = _where_known(contact, relationship)
    emergency_phone = _where_known(contact, _phones(rng, area))

    height = np.where(female, rng.normal(162.0, 6.5, n), rng.normal(176.0, 7.0, n))
    start_age = np.maximum(age - model.HISTORY_YEARS, 0.0)
    adult_bmi = (
        28.5
        + 0.08 * (start_age - 45)
        - 0.0015 * (start_age - 45) ** 2
        + 1.5 * ((race == "Black or African American") & female)
        - 2.5 * (race == "Asian")
        + rng.gamma(4.0, 1.45, n)
        - 5.8
    )
    child_bmi = 15.5 + 0.35 * np.clip(start_age - 2, 0, None) + rng.normal(0, 2.0, n)
    bmi = np.clip(np.where(start_age >= 20, adult_bmi, child_bmi), 13.0, 65.0)
    roll = rng.random(n)
    smoker = ((start_age >= 18) & (roll < 0.12)).astype(float)
    former = ((start_age >= 18) & (roll >= 0.12) & (roll < 0.12 + 0.004 * start_age)).astype(float)
    return People(
        birth_date=birth,
        female=female,
        race=race,
        hispanic=hispanic,
        given_name=given.astype(str),
        middle_name=middle,
        family_name=family.astype(str),
        preferred_language=language,
        address_line1=line1,
        city=city,
        state=state,
        postal_code=postal,
        phone=phone,
        email=email,
        emergency_contact_name=emergency_name,
        emergency_contact_relationship=emergency_relationship,
        emergency_contact_phone=emergency_phone,
        height_cm=height,
        bmi_baseline=bmi,
        smoker=smoker,
        former_smoker=former,
    )


def covariates(people: People, *, on: np.datetime64, bmi: NDArray[np.float64]) -> model.Person:
    """The logits' covariates of everyone on a day."""
    return model.Person(
        age=people.age_on(on),
        male=(~people.female).astype(float),
        bmi=bmi,
        black=(people.race == "Black or African American").astype(float),
        hispanic=people.hispanic.astype(float),
        asian=(people.race == "Asian").astype(float),
        smoker=people.smoker,
        former_smoker=people.former_smoker,
    )
