"""Evaluating a rule: a pure function of the rule and the data it sees. No database, no
clock, so every threshold is tested directly and the write path, the CDS Hooks service and
any batch job reach the same conclusion from the same data.

`snapshot` picks the data: for each input, the newest value among the input's codes in the
window that ends at the newest value of any of the rule's inputs ("the latest set of
observations"). A value in another unit is converted; one that cannot be is not used. An
input with no value is missing, and missing is never read as normal: a criterion with
nothing measured is unknown, and a score with missing parameters is a flagged lower bound.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType

from transactional.cds.definitions import (
    Condition,
    Criteria,
    DrugGene,
    Input,
    Parameter,
    Rule,
    Score,
)
from transactional.cds.types import Datum, Finding, JsonValue
from transactional.errors import InvalidInput
from transactional.terminology.units import convert


@dataclass(frozen=True)
class Facts:
    """What one rule sees: input name -> the value used, as of `as_of`."""

    as_of: datetime | None
    values: Mapping[str, Datum]


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def applies(rule: Rule, *, age_years: int | None, encounter_class: str | None) -> bool:
    """Whether the rule is meant for this patient and setting (NEWS2 is validated for adults
    in acute care, not for an outpatient check-up)."""
    scope = rule.applies_to
    if scope.min_age_years is not None and (age_years is None or age_years < scope.min_age_years):
        return False
    return scope.encounter_classes is None or encounter_class in scope.encounter_classes


def _usable(put: Input, datum: Datum) -> Datum | None:
    if datum.system != put.system or datum.code not in put.codes:
        return None
    if put.answers:
        return datum if datum.answer in put.answers else None
    if datum.value is None or datum.unit is None or put.unit is None:
        return None
    if datum.unit == put.unit:
        return datum
    try:
        value = convert(datum.value, datum.unit, put.unit)
    except InvalidInput:
        return None
    return Datum(
        system=datum.system,
        code=datum.code,
        effective_at=datum.effective_at,
        value=value,
        unit=put.unit,
        source_type=datum.source_type,
        source_id=datum.source_id,
    )


def snapshot(rule: Rule, data: Iterable[Datum]) -> Facts:
    candidates: dict[str, list[Datum]] = {}
    for datum in data:
        for name, put in rule.inputs.items():
            usable = _usable(put, datum)
            if usable is not None:
                candidates.setdefault(name, []).append(usable)
    if not candidates:
        return Facts(None, MappingProxyType({}))
    as_of = max(d.effective_at for found in candidates.values() for d in found)
    values = {}
    for name, found in candidates.items():
        window = rule.inputs[name].window_minutes or rule.window_minutes
        earliest = as_of - timedelta(minutes=window) if window is not None else None
        recent = [d for d in found if earliest is None or d.effective_at >= earliest]
        if recent:
            values[name] = max(recent, key=lambda d: d.effective_at)
    return Facts(as_of, MappingProxyType(values))


def _holds(condition: Condition, datum: Datum | None) -> bool | None:
    if datum is None:
        return None
    if condition.op == "in":
        return datum.answer in condition.answers
    assert datum.value is not None and condition.value is not None
    value, limit = datum.value, condition.value
    return {
        ">": value > limit,
        ">=": value >= limit,
        "<": value < limit,
        "<=": value <= limit,
    }[condition.op]


def _points(parameter: Parameter, datum: Datum) -> int:
    if parameter.answers:
        assert datum.answer is not None
        return parameter.answers[datum.answer]
    assert datum.value is not None
    for row in parameter.rows:
        if row.up_to is None or datum.value <= row.up_to:
            return row.points
    raise AssertionError("the last row of a points table has no limit")  # checked on load


def _common(rule: Rule, facts: Facts) -> tuple[dict[str, str], dict[str, JsonValue], list[str]]:
    shown = {
        name: (facts.values[name].shown() if name in facts.values else "not recorded")
        for name in rule.inputs
    }
    missing = [name for name in rule.inputs if name not in facts.values]
    data: dict[str, JsonValue] = {
        "rule": {
            "id": rule.id,
            "version": rule.version,
            "title": rule.title,
            "citation": rule.citation.text,
            "citation_url": rule.citation.url,
        },
        "as_of": facts.as_of.isoformat() if facts.as_of else None,
        "window_minutes": rule.window_minutes,
        "inputs": [
            facts.values[name].as_json(name) for name in rule.inputs if name in facts.values
        ],
        "missing": missing,
    }
    return {"title": rule.title, **shown}, data, missing


def _finding(
    rule: Rule,
    fields: Mapping[str, str],
    data: dict[str, JsonValue],
    *,
    severity: str,
    rank: int,
    raise_alert: bool = True,
) -> Finding:
    data["rank"] = rank
    return Finding(
        rule_id=rule.id,
        rule_version=rule.version,
        kind=rule.kind,
        severity=severity,
        summary=rule.summary.substitute(fields),
        rationale=rule.rationale.substitute(fields),
        rank=rank,
        data=MappingProxyType(data),
        suggested_actions=rule.suggested_actions,
        raise_alert=raise_alert,
    )


def _displays(rule: Rule, names: Iterable[str]) -> str:
    return ", ".join(rule.inputs[name].display for name in names) or "none"


def _criteria(rule: Rule, logic: Criteria, facts: Facts) -> Finding | None:
    statuses = []
    for criterion in logic.criteria:
        results = [_holds(c, facts.values.get(c.input)) for c in criterion.any_of]
        status = "met" if True in results else "not_met" if False in results else "unknown"
        statuses.append((criterion, status))
    met = [criterion for criterion, status in statuses if status == "met"]
    if len(met) < logic.min_met:
        return None
    fields, data, missing = _common(rule, facts)
    fields |= {
        "met": "; ".join(c.label for c in met),
        "met_count": str(len(met)),
        "min_met": str(logic.min_met),
        "missing": _displays(rule, missing),
    }
    data["criteria"] = [{"id": c.id, "label": c.label, "status": s} for c, s in statuses]
    data["met_count"] = len(met)
    return _finding(rule, fields, data, severity=logic.severity, rank=len(met))


def _score(rule: Rule, logic: Score, facts: Facts) -> Finding | None:
    scored = {
        p.input: _points(p, facts.values[p.input])
        for p in logic.parameters
        if p.input in facts.values
    }
    if not scored:
        return None
    total = sum(scored.values())
    missing = [p.input for p in logic.parameters if p.input not in scored]
    max_possible = total + sum(p.max_points for p in logic.parameters if p.input not in scored)
    index, band = next(
        (index, band)
        for index, band in enumerate(logic.bands)
        if (band.min_total is not None and total >= band.min_total)
        or (
            band.single_parameter is not None
            and any(points >= band.single_parameter for points in scored.values())
        )
    )
    fields, data, _ = _common(rule, facts)
    missing_note = (
        f"Not recorded: {_displays(rule, missing)}; with them the score could be up to "
        f"{max_possible}, so the band is a floor. "
        if missing
        else ""
    )
    fields |= {
        "total": str(total),
        "partial": " (partial)" if missing else "",
        "band": band.label,
        "response": band.response,
        "missing": _displays(rule, missing),
        "missing_note": missing_note,
        "max_possible": str(max_possible),
    }
    data["score"] = {
        "total": total,
        "partial": bool(missing),
        "max_possible": max_possible,
        "band": band.id,
        "points": dict(scored),
    }
    return _finding(
        rule,
        fields,
        data,
        severity=band.severity,
        rank=len(logic.bands) - 1 - index,
        raise_alert=band.raise_alert,
    )


def evaluate(rule: Rule, facts: Facts) -> Finding | None:
    """The rule's finding on these facts, or None when it does not fire (or cannot: a score
    with no parameter measured at all)."""
    if isinstance(rule.logic, Criteria):
        return _criteria(rule, rule.logic, facts)
    if isinstance(rule.logic, Score):
        return _score(rule, rule.logic, facts)
    raise ValueError(f"{rule.id} is a drug-gene rule; use evaluate_drug_gene")


def evaluate_drug_gene(
    rule: Rule, *, ingredients: Iterable[str], facts: Facts, drug_label: str | None = None
) -> Finding | None:
    """A finding when the drug (any of `ingredients`, RxNorm) meets a phenotype the rule
    advises on; None for other drugs, other phenotypes, or no phenotype result."""
    logic = rule.logic
    if not isinstance(logic, DrugGene):
        raise ValueError(f"{rule.id} is not a drug-gene rule")
    if not logic.ingredients & set(ingredients):
        return None
    datum = facts.values.get(logic.phenotype_input)
    if datum is None or datum.answer is None:
        return None
    advice = logic.phenotypes.get(datum.answer)
    if advice is None:
        return None
    fields, data, _ = _common(rule, facts)
    phenotype = rule.inputs[logic.phenotype_input].answers[datum.answer]
    fields |= {
        "gene": logic.gene,
        "drug": drug_label or logic.drug_display,
        "phenotype": phenotype.lower(),
        "phenotype_date": datum.effective_at.date().isoformat(),
        "strength": advice.strength,
        "recommendation": advice.recommendation,
    }
    data["gene"] = logic.gene
    data["phenotype"] = {"system": datum.system, "code": datum.answer, "display": phenotype}
    data["drug"] = {
        "system": logic.drug_system,
        "ingredients": sorted(logic.ingredients & set(ingredients)),
    }
    data["recommendation"] = {"strength": advice.strength, "text": advice.recommendation}
    return _finding(rule, fields, data, severity=advice.severity, rank=0)
