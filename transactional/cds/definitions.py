"""Decision-support rules as versioned data: one YAML file per rule in `rules/`.

A rule file names its published source, the coded inputs it reads (LOINC or SNOMED CT, with
the UCUM unit a numeric input is compared in), its logic and thresholds, severities, the
templates of its summary and rationale, suggested actions and override reasons. Three kinds
of logic cover the shipped rules: `criteria` (fires when at least `min_met` criteria hold:
hypertensive crisis, SIRS, qSOFA), `score` (a points table with bands: NEWS2) and
`drug_gene` (a drug ingredient against a phenotype result: CPIC).

Files are validated strictly when first read (unknown keys, inputs a condition does not
declare, placeholders a template cannot fill, unordered point tables...), so a typo fails
the test suite instead of leaving a rule that silently never fires. A changed rule gets a new
`version`, stored with every alert it raises.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib.resources import files
from string import Template
from types import MappingProxyType
from typing import Any

import yaml

from transactional.cds.types import SEVERITIES, Coding

OVERRIDE_REASON_SYSTEM = "urn:emr:cds:override-reason"
SUBJECTS = ("encounter", "prescription")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
_RULE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9][a-z0-9_]*)+$")
_OPERATORS = (">", ">=", "<", "<=", "in")
_COMMON_FIELDS = frozenset({"title"})
_LOGIC_FIELDS = {
    "criteria": frozenset({"met", "met_count", "min_met", "missing"}),
    "score": frozenset(
        {"total", "partial", "band", "response", "missing", "missing_note", "max_possible"}
    ),
    "drug_gene": frozenset(
        {"gene", "drug", "phenotype", "phenotype_date", "strength", "recommendation"}
    ),
}


_LOGIC_KEYS = {
    "criteria": frozenset({"min_met", "severity", "criteria"}),
    "score": frozenset({"parameters", "bands"}),
    "drug_gene": frozenset({"gene", "phenotype_input", "drug", "phenotypes"}),
}


class RuleFileError(ValueError):
    """A rule file that does not follow the format; the message names the file and field."""


@dataclass(frozen=True)
class Citation:
    label: str
    text: str
    url: str | None


@dataclass(frozen=True)
class Input:
    """A coded value a rule reads. Numeric inputs have a `unit`; coded ones `answers`.
    `window_minutes` overrides the rule's window (laboratory values stay valid longer)."""

    name: str
    display: str
    system: str
    codes: tuple[str, ...]
    unit: str | None
    answers: Mapping[str, str]
    window_minutes: int | None


@dataclass(frozen=True)
class Applicability:
    min_age_years: int | None
    encounter_classes: frozenset[str] | None


@dataclass(frozen=True)
class Condition:
    input: str
    op: str
    value: Decimal | None = None
    answers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str
    any_of: tuple[Condition, ...]


@dataclass(frozen=True)
class Criteria:
    min_met: int
    severity: str
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True)
class PointRow:
    up_to: Decimal | None
    points: int


@dataclass(frozen=True)
class Parameter:
    """One row of a score table: numeric values scored by the first row whose `up_to` they
    do not exceed, coded values by their answer."""

    input: str
    rows: tuple[PointRow, ...]
    answers: Mapping[str, int]

    @property
    def max_points(self) -> int:
        return max([row.points for row in self.rows] + list(self.answers.values()))


@dataclass(frozen=True)
class Band:
    id: str
    label: str
    severity: str
    raise_alert: bool
    response: str
    min_total: int | None
    single_parameter: int | None


@dataclass(frozen=True)
class Score:
    parameters: tuple[Parameter, ...]
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class PhenotypeAdvice:
    answer: str
    severity: str
    strength: str
    recommendation: str


@dataclass(frozen=True)
class DrugGene:
    gene: str
    phenotype_input: str
    drug_display: str
    drug_system: str
    ingredients: frozenset[str]
    phenotypes: Mapping[str, PhenotypeAdvice]


Logic = Criteria | Score | DrugGene


@dataclass(frozen=True)
class Rule:
    id: str
    version: str
    kind: str
    title: str
    citation: Citation
    subject: str
    applies_to: Applicability
    window_minutes: int | None
    inputs: Mapping[str, Input]
    logic: Logic
    summary: Template
    rationale: Template
    suggested_actions: tuple[str, ...]
    override_reasons: tuple[Coding, ...]

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(code for put in self.inputs.values() for code in put.codes)


class _Node:
    """A mapping read from YAML, refusing unknown keys and naming where a value is wrong."""

    def __init__(self, raw: object, where: str, required: set[str], optional: set[str]) -> None:
        if not isinstance(raw, dict):
            raise RuleFileError(f"{where} must be a mapping")
        unknown = sorted(str(key) for key in raw if key not in required | optional)
        if unknown:
            raise RuleFileError(f"{where}: unknown field(s) {', '.join(unknown)}")
        missing = sorted(required - set(raw))
        if missing:
            raise RuleFileError(f"{where}: missing field(s) {', '.join(missing)}")
        self.raw: dict[str, Any] = raw
        self.where = where

    def has(self, key: str) -> bool:
        return key in self.raw

    def at(self, key: str) -> str:
        return f"{self.where}.{key}"

    def text(self, key: str, default: str | None = None) -> str:
        value = self.raw.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise RuleFileError(f"{self.at(key)} must be a non-empty string")
        return " ".join(value.split())

    def optional_text(self, key: str) -> str | None:
        return self.text(key) if self.has(key) else None

    def integer(self, key: str, *, minimum: int = 0) -> int:
        value = self.raw.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise RuleFileError(f"{self.at(key)} must be an integer >= {minimum}")
        return value

    def optional_integer(self, key: str, *, minimum: int = 0) -> int | None:
        return self.integer(key, minimum=minimum) if self.has(key) else None

    def number(self, key: str) -> Decimal:
        value = self.raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise RuleFileError(f"{self.at(key)} must be a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise RuleFileError(f"{self.at(key)} must be a number") from None
        if not number.is_finite():
            raise RuleFileError(f"{self.at(key)} must be a finite number")
        return number

    def flag(self, key: str) -> bool:
        value = self.raw.get(key)
        if not isinstance(value, bool):
            raise RuleFileError(f"{self.at(key)} must be true or false")
        return value

    def items(self, key: str) -> list[Any]:
        value = self.raw.get(key)
        if not isinstance(value, list) or not value:
            raise RuleFileError(f"{self.at(key)} must be a non-empty list")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        values = self.items(key)
        if not all(isinstance(v, str) and v.strip() for v in values):
            raise RuleFileError(f"{self.at(key)} must list non-empty strings")
        return tuple(" ".join(v.split()) for v in values)

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.raw.get(key)
        if not isinstance(value, dict) or not value:
            raise RuleFileError(f"{self.at(key)} must be a non-empty mapping")
        return {str(k): v for k, v in value.items()}

    def severity(self, key: str) -> str:
        value = self.text(key)
        if value not in SEVERITIES:
            raise RuleFileError(f"{self.at(key)} must be one of {', '.join(SEVERITIES)}")
        return value


def _input(name: str, raw: object, where: str) -> Input:
    node = _Node(raw, where, {"display", "system", "codes"}, {"unit", "answers", "window_minutes"})
    if node.has("unit") == node.has("answers"):
        raise RuleFileError(f"{where}: an input has either a unit (numeric) or answers (coded)")
    answers = node.mapping("answers") if node.has("answers") else {}
    if not all(isinstance(display, str) and display for display in answers.values()):
        raise RuleFileError(f"{where}.answers must map each code to its display")
    return Input(
        name=name,
        display=node.text("display"),
        system=node.text("system"),
        codes=node.texts("codes"),
        unit=node.text("unit") if node.has("unit") else None,
        answers=MappingProxyType(dict(answers)),
        window_minutes=node.optional_integer("window_minutes", minimum=1),
    )


def _condition(raw: object, where: str, inputs: Mapping[str, Input]) -> Condition:
    node = _Node(raw, where, {"input", "op"}, {"value", "answers"})
    name, op = node.text("input"), node.text("op")
    put = inputs.get(name)
    if put is None:
        raise RuleFileError(f"{where}: input {name!r} is not declared")
    if op not in _OPERATORS:
        raise RuleFileError(f"{where}.op must be one of {', '.join(_OPERATORS)}")
    if op == "in":
        answers = frozenset(node.texts("answers"))
        if node.has("value") or not put.answers or not answers <= set(put.answers):
            raise RuleFileError(f"{where}: 'in' lists answers of a coded input")
        return Condition(name, op, answers=answers)
    if node.has("answers") or put.unit is None:
        raise RuleFileError(f"{where}: {op!r} compares a numeric input with a value")
    return Condition(name, op, value=node.number("value"))


def _criteria(node: _Node, inputs: Mapping[str, Input]) -> Criteria:
    criteria = []
    for index, raw in enumerate(node.items("criteria")):
        where = f"{node.at('criteria')}[{index}]"
        criterion = _Node(raw, where, {"id", "label", "any"}, set())
        criteria.append(
            Criterion(
                id=_identifier(criterion, "id"),
                label=criterion.text("label"),
                any_of=tuple(
                    _condition(c, f"{where}.any[{i}]", inputs)
                    for i, c in enumerate(criterion.items("any"))
                ),
            )
        )
    if len({c.id for c in criteria}) != len(criteria):
        raise RuleFileError(f"{node.at('criteria')}: criterion ids must be unique")
    min_met = node.integer("min_met", minimum=1)
    if min_met > len(criteria):
        raise RuleFileError(f"{node.at('min_met')} is more than the number of criteria")
    return Criteria(min_met=min_met, severity=node.severity("severity"), criteria=tuple(criteria))


def _parameter(raw: object, where: str, inputs: Mapping[str, Input]) -> Parameter:
    node = _Node(raw, where, {"input"}, {"points", "answers"})
    name = node.text("input")
    put = inputs.get(name)
    if put is None:
        raise RuleFileError(f"{where}: input {name!r} is not declared")
    if put.unit is None:
        answers = node.mapping("answers")
        if node.has("points") or set(answers) != set(put.answers):
            raise RuleFileError(f"{where}: a coded input scores every one of its answers")
        if not all(isinstance(p, int) and not isinstance(p, bool) for p in answers.values()):
            raise RuleFileError(f"{where}.answers must give integer points")
        return Parameter(name, (), MappingProxyType(answers))
    if node.has("answers"):
        raise RuleFileError(f"{where}: a numeric input is scored by points rows")
    rows = []
    for index, row_raw in enumerate(node.items("points")):
        row = _Node(row_raw, f"{where}.points[{index}]", {"points"}, {"up_to"})
        rows.append(
            PointRow(row.number("up_to") if row.has("up_to") else None, row.integer("points"))
        )
    limits = [row.up_to for row in rows[:-1] if row.up_to is not None]
    if rows[-1].up_to is not None or len(limits) != len(rows) - 1:
        raise RuleFileError(f"{where}.points: only the last row, and it must, go without up_to")
    if limits != sorted(limits) or len(set(limits)) != len(limits):
        raise RuleFileError(f"{where}.points: up_to must increase row by row")
    return Parameter(name, tuple(rows), MappingProxyType({}))


def _score(node: _Node, inputs: Mapping[str, Input]) -> Score:
    parameters = tuple(
        _parameter(raw, f"{node.at('parameters')}[{i}]", inputs)
        for i, raw in enumerate(node.items("parameters"))
    )
    if len({p.input for p in parameters}) != len(parameters):
        raise RuleFileError(f"{node.at('parameters')}: each input is scored once")
    bands = []
    for index, raw in enumerate(node.items("bands")):
        band = _Node(
            raw,
            f"{node.at('bands')}[{index}]",
            {"id", "label", "severity", "raise_alert", "response"},
            {"min_total", "single_parameter"},
        )
        if band.has("min_total") == band.has("single_parameter"):
            raise RuleFileError(f"{band.where}: a band has min_total or single_parameter")
        bands.append(
            Band(
                id=_identifier(band, "id"),
                label=band.text("label"),
                severity=band.severity("severity"),
                raise_alert=band.flag("raise_alert"),
                response=band.text("response"),
                min_total=band.optional_integer("min_total"),
                single_parameter=band.optional_integer("single_parameter", minimum=1),
            )
        )
    if bands[-1].min_total != 0:
        raise RuleFileError(f"{node.at('bands')}: the last band must take every score (0)")
    return Score(parameters, tuple(bands))


def _drug_gene(node: _Node, inputs: Mapping[str, Input]) -> DrugGene:
    phenotype_input = node.text("phenotype_input")
    put = inputs.get(phenotype_input)
    if put is None or not put.answers:
        raise RuleFileError(f"{node.at('phenotype_input')} must name a coded input")
    drug = _Node(node.raw.get("drug"), node.at("drug"), {"display", "system", "ingredients"}, set())
    advice = {}
    for index, raw in enumerate(node.items("phenotypes")):
        item = _Node(
            raw,
            f"{node.at('phenotypes')}[{index}]",
            {"answer", "severity", "strength", "recommendation"},
            set(),
        )
        answer = item.text("answer")
        if answer not in put.answers or answer in advice:
            raise RuleFileError(f"{item.where}: {answer!r} is not a new answer of the input")
        advice[answer] = PhenotypeAdvice(
            answer, item.severity("severity"), item.text("strength"), item.text("recommendation")
        )
    return DrugGene(
        gene=node.text("gene"),
        phenotype_input=phenotype_input,
        drug_display=drug.text("display"),
        drug_system=drug.text("system"),
        ingredients=frozenset(drug.texts("ingredients")),
        phenotypes=MappingProxyType(advice),
    )


def _identifier(node: _Node, key: str) -> str:
    value = node.text(key)
    if not _IDENTIFIER.fullmatch(value):
        raise RuleFileError(f"{node.at(key)} must be a lower-case identifier")
    return value


def _template(node: _Node, key: str, allowed: frozenset[str]) -> Template:
    template = Template(node.text(key))
    if not template.is_valid():
        raise RuleFileError(f"{node.at(key)} is not a valid template")
    unknown = sorted(set(template.get_identifiers()) - allowed)
    if unknown:
        raise RuleFileError(f"{node.at(key)}: unknown placeholder(s) {', '.join(unknown)}")
    return template


def parse_rule(raw: object, where: str) -> Rule:
    """One rule from its parsed YAML; `RuleFileError` names what is wrong."""
    node = _Node(
        raw,
        where,
        {"id", "version", "kind", "title", "citation", "subject", "inputs", "logic"}
        | {"summary", "rationale", "suggested_actions", "override_reasons"},
        {"applies_to", "window_minutes"},
    )
    rule_id = node.text("id")
    if not _RULE_ID.fullmatch(rule_id):
        raise RuleFileError(f"{node.at('id')} must be dotted lower-case words")
    citation = _Node(node.raw["citation"], node.at("citation"), {"label", "text"}, {"url"})
    inputs = {
        name: _input(name, raw_input, f"{node.at('inputs')}.{name}")
        for name, raw_input in node.mapping("inputs").items()
    }
    if not all(_IDENTIFIER.fullmatch(name) for name in inputs):
        raise RuleFileError(f"{node.at('inputs')}: input names are lower-case identifiers")
    raw_logic = node.raw["logic"]
    kind_of_logic = raw_logic.get("type") if isinstance(raw_logic, dict) else None
    if kind_of_logic not in _LOGIC_KEYS:
        raise RuleFileError(f"{node.at('logic.type')} must be criteria, score or drug_gene")
    logic_node = _Node(raw_logic, node.at("logic"), {"type", *_LOGIC_KEYS[kind_of_logic]}, set())
    logic: Logic
    if kind_of_logic == "criteria":
        logic = _criteria(logic_node, inputs)
    elif kind_of_logic == "score":
        logic = _score(logic_node, inputs)
    else:
        logic = _drug_gene(logic_node, inputs)
    subject = node.text("subject")
    if subject != ("prescription" if isinstance(logic, DrugGene) else "encounter"):
        raise RuleFileError(f"{node.at('subject')}: drug_gene rules are about prescriptions")
    window = node.optional_integer("window_minutes", minimum=1)
    if subject == "encounter" and window is None:
        raise RuleFileError(f"{where}: an encounter rule needs window_minutes")
    applies = Applicability(None, None)
    if node.has("applies_to"):
        scope = _Node(
            node.raw["applies_to"],
            node.at("applies_to"),
            set(),
            {"min_age_years", "encounter_classes"},
        )
        applies = Applicability(
            scope.optional_integer("min_age_years"),
            frozenset(scope.texts("encounter_classes")) if scope.has("encounter_classes") else None,
        )
    allowed = _COMMON_FIELDS | _LOGIC_FIELDS[kind_of_logic] | set(inputs)
    reasons = []
    for index, raw_reason in enumerate(node.items("override_reasons")):
        reason = _Node(
            raw_reason, f"{node.at('override_reasons')}[{index}]", {"code", "display"}, set()
        )
        reasons.append(Coding(OVERRIDE_REASON_SYSTEM, reason.text("code"), reason.text("display")))
    return Rule(
        id=rule_id,
        version=node.text("version"),
        kind=_identifier(node, "kind"),
        title=node.text("title"),
        citation=Citation(
            citation.text("label"), citation.text("text"), citation.optional_text("url")
        ),
        subject=subject,
        applies_to=applies,
        window_minutes=window,
        inputs=MappingProxyType(inputs),
        logic=logic,
        summary=_template(node, "summary", frozenset(allowed)),
        rationale=_template(node, "rationale", frozenset(allowed)),
        suggested_actions=node.texts("suggested_actions"),
        override_reasons=tuple(reasons),
    )


@dataclass(frozen=True)
class RuleBook:
    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        for label, values in (
            ("id", [r.id for r in self.rules]),
            ("kind", [r.kind for r in self.rules]),
        ):
            if len(set(values)) != len(values):
                raise RuleFileError(f"two rules share a {label}")

    def by_id(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    @property
    def encounter_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.subject == "encounter")

    @property
    def drug_gene_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if isinstance(r.logic, DrugGene))


@cache
def rule_book() -> RuleBook:
    """The shipped rules, read once per process."""
    folder = files("transactional.cds").joinpath("rules")
    rules = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            rules.append(parse_rule(yaml.safe_load(entry.read_text(encoding="utf-8")), entry.name))
    return RuleBook(tuple(rules))
