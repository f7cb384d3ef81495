"""The cohort definition language: what a YAML file under `dbt_project/cohorts/` may say.

Every field is validated before anything reaches the warehouse (unknown fields are errors, so a
typo never silently widens a cohort), code systems are resolved to the canonical URIs stored
in the source rows, and the compiler receives only these typed values. The format is
documented in `dbt_project/cohorts/README.md`.
"""

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from transactional.terminology.systems import CodeSystem, find_system


def _integer_as_text(value: Any) -> Any:
    """YAML reads an unquoted RxNorm or SNOMED code as an integer; it is still the code.
    (Not floats: `250.00` would already have lost its zeros.)"""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


# A code as written: ICD-10-CM `E11.9`, LOINC `4548-4`, answer `LA9657-3`, RxNorm `6809`;
# a trailing `*` matches every code starting with what precedes it (`E11*`).
Code = Annotated[
    str,
    BeforeValidator(_integer_as_text),
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,31}\*?$"),
]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Label = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _\-.,:;()/%+<>=≥≤']{0,119}$")
]
Unit = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9%\[\]{}/.*^()'_\-]{1,40}$")]
Days = Annotated[int, Field(ge=0, le=36_500)]

EventKind = Literal[
    "diagnosis", "medication", "lab", "observation", "genomic", "encounter", "procedure"
]
RuleKind = EventKind | Literal["demographics"]
EncounterClass = Literal["ambulatory", "emergency", "inpatient"]
Sex = Literal["male", "female", "other", "unknown"]
Comparator = Literal["<", "<=", "=", "!=", ">=", ">"]

CYP2C19_PHENOTYPE = "79714-2"

# Which selector fields each kind accepts (besides `kind` itself).
_FIELDS: dict[str, frozenset[str]] = {
    "diagnosis": frozenset({"codes", "value_set"}),
    "medication": frozenset({"codes", "value_set"}),
    "lab": frozenset({"codes", "value_set", "value"}),
    "observation": frozenset({"codes", "value_set", "value"}),
    "genomic": frozenset({"codes", "answers"}),
    "encounter": frozenset({"codes", "value_set", "encounter_class"}),
    "procedure": frozenset({"codes", "value_set"}),
    "demographics": frozenset({"age", "sex"}),
}
_SELECTOR_FIELDS = frozenset().union(*_FIELDS.values())


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class CodeSet(Strict):
    """Codes of one system. `system` may be a URI, an OID or a common name (`ICD-10-CM`)."""

    system: str
    codes: list[Code] = Field(min_length=1, max_length=500)

    @field_validator("system")
    @classmethod
    def _known_system(cls, value: str) -> str:
        system = find_system(value)
        if system is None:
            known = ", ".join(s.short_name for s in CodeSystem)
            raise ValueError(f"unknown code system {value!r}; use one of: {known}")
        return system.value

    @property
    def exact(self) -> list[str]:
        return sorted({code for code in self.codes if not code.endswith("*")})

    @property
    def prefixes(self) -> list[str]:
        return sorted({code[:-1] for code in self.codes if code.endswith("*")})


class ValueTest(Strict):
    """A numeric result compared with a threshold; only results recorded in `unit` count."""

    comparator: Comparator
    threshold: Decimal = Field(allow_inf_nan=False, max_digits=24, decimal_places=6)
    unit: Unit


class AgeRange(Strict):
    """Whole years at the entry date, both bounds inclusive."""

    min: int | None = Field(default=None, ge=0, le=130)
    max: int | None = Field(default=None, ge=0, le=130)

    @model_validator(mode="after")
    def _ordered(self) -> "AgeRange":
        if self.min is None and self.max is None:
            raise ValueError("age needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("age.min is greater than age.max")
        return self


class Window(Strict):
    """Days relative to the entry date, inclusive: [entry - days_before, entry + days_after].

    `all` leaves that side unbounded. An omitted side is 0 (the entry day itself)."""

    days_before: Days | Literal["all"] = 0
    days_after: Days | Literal["all"] = 0

    @property
    def start(self) -> int | None:
        return None if self.days_before == "all" else -self.days_before

    @property
    def end(self) -> int | None:
        return None if self.days_after == "all" else self.days_after


ANY_TIME = Window(days_before="all", days_after="all")


class Period(Strict):
    """Calendar dates (UTC) between which an entry event must fall, both inclusive."""

    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "Period":
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError("period.start is after period.end")
        return self


class Selector(Strict):
    """Which records an entry, rule or outcome looks at. Fields depend on `kind`."""

    kind: RuleKind
    codes: list[CodeSet] = Field(default_factory=list, max_length=20)
    value_set: Name | None = None
    value: ValueTest | None = None
    answers: list[Code] = Field(default_factory=list, max_length=50)
    encounter_class: list[EncounterClass] = Field(default_factory=list)
    age: AgeRange | None = None
    sex: list[Sex] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _genomic_default_test(cls, data: Any) -> Any:
        """A genomic rule without codes means the CYP2C19 phenotype (LOINC 79714-2)."""
        if isinstance(data, dict) and data.get("kind") == "genomic" and "codes" not in data:
            return {**data, "codes": [{"system": "LOINC", "codes": [CYP2C19_PHENOTYPE]}]}
        return data

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> "Selector":
        allowed = _FIELDS[self.kind]
        given = {f for f in self.model_fields_set & _SELECTOR_FIELDS if getattr(self, f)}
        for extra in sorted(given - allowed):
            raise ValueError(f"field {extra!r} is not allowed for kind {self.kind!r}")
        if self.kind == "demographics":
            if self.age is None and not self.sex:
                raise ValueError("a demographics rule needs age, sex or both")
        elif self.kind == "genomic":
            if not self.answers:
                raise ValueError("a genomic rule needs answers (LOINC answer codes, e.g. LA9657-3)")
        elif self.kind == "encounter":
            if not (self.codes or self.value_set or self.encounter_class):
                raise ValueError("an encounter needs codes, value_set or encounter_class")
        elif not (self.codes or self.value_set):
            raise ValueError(f"a {self.kind} needs codes or value_set")
        if self.codes and self.value_set:
            raise ValueError("give codes or value_set, not both")
        return self


class Entry(Selector):
    """The index event. `first`: the patient's earliest qualifying event ever, which must fall
    in `period` (new cases); `every`: each qualifying event in `period` is an entry."""

    kind: EventKind
    occurrence: Literal["first", "every"] = "first"
    period: Period = Field(default_factory=Period)


class Rule(Selector):
    """An inclusion rule keeps, an exclusion rule removes, entries with at least `at_least`
    matching records in `window` (demographics rules look at the patient at entry)."""

    name: Label
    description: str | None = Field(default=None, max_length=500)
    window: Window = ANY_TIME
    at_least: int = Field(default=1, ge=1, le=1000)

    @model_validator(mode="after")
    def _window_fits_kind(self) -> "Rule":
        if self.kind == "demographics" and "window" in self.model_fields_set:
            raise ValueError("field 'window' is not allowed for kind 'demographics'")
        if self.kind == "demographics" and "at_least" in self.model_fields_set:
            raise ValueError("field 'at_least' is not allowed for kind 'demographics'")
        return self


class Outcome(Selector):
    """Whether a matching record occurs 1 to `within_days` days after the anchor day: the
    entry (`entry`) or the end of the entry event (`entry_end`: discharge for a stay)."""

    kind: EventKind
    name: Name
    description: str | None = Field(default=None, max_length=500)
    within_days: int = Field(ge=1, le=3650)
    anchor: Literal["entry", "entry_end"] = "entry"


class Characterization(Strict):
    """What the characterization summarizes, around each member's first entry."""

    window: Window = Window(days_before=365, days_after=0)
    top: int = Field(default=10, ge=1, le=50)
    labs: list[CodeSet] = Field(default_factory=list, max_length=20)


class CohortDefinition(Strict):
    name: Name
    title: str | None = Field(default=None, max_length=200)
    description: str = Field(min_length=1, max_length=4000)
    version: Annotated[
        str,
        BeforeValidator(_integer_as_text),
        StringConstraints(pattern=r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,31}$"),
    ]
    entry: Entry
    inclusion: list[Rule] = Field(default_factory=list, max_length=50)
    exclusion: list[Rule] = Field(default_factory=list, max_length=50)
    outcomes: list[Outcome] = Field(default_factory=list, max_length=20)
    characterization: Characterization = Field(default_factory=Characterization)

    @model_validator(mode="after")
    def _unique_names(self) -> "CohortDefinition":
        rules = [rule.name for rule in (*self.inclusion, *self.exclusion)]
        duplicated = sorted({name for name in rules if rules.count(name) > 1})
        if duplicated:
            raise ValueError(f"rule names must be unique: {', '.join(duplicated)}")
        outcomes = [outcome.name for outcome in self.outcomes]
        duplicated = sorted({name for name in outcomes if outcomes.count(name) > 1})
        if duplicated:
            raise ValueError(f"outcome names must be unique: {', '.join(duplicated)}")
        return self

    @property
    def rules(self) -> list[tuple[Literal["inclusion", "exclusion"], Rule]]:
        """Rules in the order attrition applies them: inclusions, then exclusions."""
        return [("inclusion", r) for r in self.inclusion] + [
            ("exclusion", r) for r in self.exclusion
        ]

    def fingerprint(self) -> str:
        """Identifies this exact definition, so a materialized cohort names what built it."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
