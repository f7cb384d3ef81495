"""The shipped rule files, the checks that keep a broken one from loading, who a rule is
for, and the drug-gene rule's decisions."""

import copy
from datetime import date, timedelta
from importlib.resources import files
from typing import Any

import pytest
import yaml

from tests.cds.facts import T0, rule
from transactional.cds.definitions import RuleFileError, parse_rule, rule_book
from transactional.cds.evaluate import age_on, applies, evaluate_drug_gene, snapshot
from transactional.cds.types import Datum
from transactional.terminology.catalog import lookup
from transactional.terminology.systems import CodeSystem

CLOPIDOGREL, ATORVASTATIN = "32968", "83367"
POOR, INTERMEDIATE, NORMAL, RAPID = "LA9657-3", "LA10317-8", "LA25391-6", "LA25390-8"


def _raw(name: str) -> dict[str, Any]:
    text = files("transactional.cds").joinpath("rules", name).read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def test_every_rule_is_versioned_cited_and_coded() -> None:
    rules = {r.id: r for r in rule_book().rules}
    assert set(rules) == {
        "vitals.hypertensive_crisis",
        "vitals.news2",
        "vitals.sirs",
        "vitals.qsofa",
        "pgx.cyp2c19.clopidogrel",
    }
    for found in rules.values():
        assert found.version and found.citation.text and found.citation.url
        assert found.citation.url.startswith("https://")
        assert found.suggested_actions and found.override_reasons
        for put in found.inputs.values():
            assert put.system in {CodeSystem.LOINC, CodeSystem.SNOMEDCT}
    assert "Singer" in rules["vitals.qsofa"].citation.text
    assert "Bone" in rules["vitals.sirs"].citation.text
    assert "Royal College of Physicians" in rules["vitals.news2"].citation.text
    assert "ACC/AHA" in rules["vitals.hypertensive_crisis"].citation.text
    assert "Clinical Pharmacogenetics Implementation Consortium" in (
        rules["pgx.cyp2c19.clopidogrel"].citation.text
    )


def test_the_vital_sign_codes_rules_read_are_known_loinc_codes() -> None:
    for found in rule_book().encounter_rules:
        for put in found.inputs.values():
            if put.system == CodeSystem.LOINC and put.unit is not None:
                for code in put.codes:
                    if code not in {"2019-8", "26508-2", "764-1"}:  # labs not orderable yet
                        assert lookup(CodeSystem.LOINC, code) is not None, code


def _broken(name: str, change: Any) -> str:
    raw = copy.deepcopy(_raw(name))
    change(raw)
    with pytest.raises(RuleFileError) as failure:
        parse_rule(raw, name)
    return str(failure.value)


def test_a_broken_rule_file_does_not_load() -> None:
    assert "unknown field(s) threshold" in _broken("sirs.yaml", lambda r: r.update(threshold=2))
    assert "input 'lactate' is not declared" in _broken(
        "sirs.yaml",
        lambda r: r["logic"]["criteria"][0]["any"].append(
            {"input": "lactate", "op": ">", "value": 2}
        ),
    )
    assert "unknown placeholder(s) score" in _broken(
        "qsofa.yaml", lambda r: r.update(summary="qSOFA $score")
    )
    assert "up_to must increase" in _broken(
        "news2.yaml",
        lambda r: r["logic"]["parameters"][0]["points"].insert(0, {"up_to": 30, "points": 3}),
    )
    assert "the last band must take every score" in _broken(
        "news2.yaml", lambda r: r["logic"]["bands"].pop()
    )
    assert "unknown field(s) bands" in _broken("sirs.yaml", lambda r: r["logic"].update(bands=[]))
    assert "severity must be one of" in _broken(
        "hypertensive_crisis.yaml", lambda r: r["logic"].update(severity="urgent")
    )
    assert "scores every one of its answers" in _broken(
        "news2.yaml", lambda r: r["logic"]["parameters"][5]["answers"].pop("300202002")
    )
    assert "compares a numeric input" in _broken(
        "qsofa.yaml",
        lambda r: r["logic"]["criteria"][1]["any"].__setitem__(
            0, {"input": "consciousness", "op": ">", "value": 1}
        ),
    )


@pytest.mark.parametrize(
    ("rule_id", "age", "setting", "applies_here"),
    [
        ("vitals.hypertensive_crisis", 17, "ambulatory", False),
        ("vitals.hypertensive_crisis", 18, "ambulatory", True),
        ("vitals.news2", 15, "inpatient", False),
        ("vitals.news2", 16, "inpatient", True),
        ("vitals.news2", 40, "ambulatory", False),
        ("vitals.news2", 40, "emergency", True),
        ("vitals.sirs", 40, "ambulatory", False),
        ("vitals.qsofa", 40, "inpatient", True),
    ],
)
def test_who_a_rule_is_for(rule_id: str, age: int, setting: str, applies_here: bool) -> None:
    assert applies(rule(rule_id), age_years=age, encounter_class=setting) is applies_here


def test_age_turns_on_the_birthday() -> None:
    assert age_on(date(2007, 3, 5), date(2025, 3, 4)) == 17
    assert age_on(date(2007, 3, 5), date(2025, 3, 5)) == 18


def _phenotype(answer: str, *, days: int = 0) -> Datum:
    return Datum("http://loinc.org", "79714-2", T0 + timedelta(days=days), answer=answer)


@pytest.mark.parametrize(
    ("answer", "severity"),
    [(POOR, "critical"), (INTERMEDIATE, "warning"), (NORMAL, None), (RAPID, None)],
)
def test_clopidogrel_by_cyp2c19_phenotype(answer: str, severity: str | None) -> None:
    pgx = rule("pgx.cyp2c19.clopidogrel")
    finding = evaluate_drug_gene(
        pgx, ingredients=[CLOPIDOGREL], facts=snapshot(pgx, [_phenotype(answer)])
    )
    assert (finding.severity if finding else None) == severity
    if finding is not None:
        phenotype = finding.data["phenotype"]
        assert isinstance(phenotype, dict) and phenotype["code"] == answer
        assert "prasugrel or ticagrelor" in finding.rationale
        assert finding.summary.startswith("CYP2C19 ")


def test_the_drug_gene_rule_needs_the_drug_and_uses_the_newest_phenotype() -> None:
    pgx = rule("pgx.cyp2c19.clopidogrel")
    poor = snapshot(pgx, [_phenotype(POOR)])
    assert evaluate_drug_gene(pgx, ingredients=[ATORVASTATIN], facts=poor) is None
    assert evaluate_drug_gene(pgx, ingredients=[CLOPIDOGREL], facts=snapshot(pgx, [])) is None
    retested = snapshot(pgx, [_phenotype(POOR, days=-400), _phenotype(NORMAL)])
    assert evaluate_drug_gene(pgx, ingredients=[CLOPIDOGREL], facts=retested) is None
