"""The definition language: shipped files parse, bad ones are refused naming the field."""

from pathlib import Path

import pytest

from warehouse.cohorts.definition import CYP2C19_PHENOTYPE, CohortDefinition
from warehouse.cohorts.loader import (
    SHIPPED,
    InvalidCohort,
    UnknownCohort,
    find_definition,
    parse_definition,
    shipped_definitions,
)

VALID = {
    "name": "example",
    "description": "An example.",
    "version": 1,
    "entry": {"kind": "diagnosis", "codes": [{"system": "ICD-10-CM", "codes": ["E11*"]}]},
    "inclusion": [
        {
            "name": "poor metabolizer",
            "kind": "genomic",
            "answers": ["LA9657-3"],
        }
    ],
}


def _with(**changes: object) -> dict[str, object]:
    return {**VALID, **changes}


def test_every_shipped_definition_parses_and_is_named_after_its_file() -> None:
    shipped = shipped_definitions()
    assert len(shipped) >= 3
    assert {"t2d_metformin_uncontrolled", "clopidogrel_cyp2c19_reduced_function"} <= set(shipped)
    for name, definition in shipped.items():
        assert definition.name == name
        assert (SHIPPED / f"{name}.yml").is_file()


def test_code_systems_are_resolved_and_unquoted_codes_are_text() -> None:
    definition = parse_definition(
        _with(entry={"kind": "medication", "codes": [{"system": "rxnorm", "codes": [6809]}]})
    )
    codes = definition.entry.codes[0]
    assert codes.system == "http://www.nlm.nih.gov/research/umls/rxnorm"
    assert codes.codes == ["6809"]
    assert definition.version == "1"


def test_a_genomic_rule_defaults_to_the_cyp2c19_phenotype_test() -> None:
    rule = parse_definition(VALID).inclusion[0]
    assert rule.codes[0].system == "http://loinc.org"
    assert rule.codes[0].codes == [CYP2C19_PHENOTYPE]


def test_prefix_codes_are_separated_from_exact_codes() -> None:
    definition = parse_definition(
        _with(
            entry={
                "kind": "diagnosis",
                "codes": [{"system": "ICD-10-CM", "codes": ["E11*", "E13.9"]}],
            }
        )
    )
    assert definition.entry.codes[0].prefixes == ["E11"]
    assert definition.entry.codes[0].exact == ["E13.9"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            {"entry": {"kind": "diagnosis", "codes": [{"system": "ICD-9", "codes": ["250"]}]}},
            "entry.codes.0.system",
        ),
        (
            {
                "entry": {
                    "kind": "diagnosis",
                    "codes": [{"system": "LOINC", "codes": ["4548-4'; DROP"]}],
                }
            },
            "entry.codes.0.codes.0",
        ),
        ({"entry": {"kind": "diagnosis"}}, "a diagnosis needs codes or value_set"),
        ({"entry": {"kind": "demographics", "age": {"min": 1}}}, "entry.kind"),
        ({"inclusions": []}, "inclusions"),
        ({"name": "Bad Name"}, "name"),
        ({"description": ""}, "description"),
        (
            {
                "inclusion": [
                    {
                        "name": "a1c",
                        "kind": "diagnosis",
                        "codes": [{"system": "ICD-10-CM", "codes": ["E11"]}],
                        "value": {"comparator": ">=", "threshold": 8, "unit": "%"},
                    }
                ]
            },
            "field 'value' is not allowed for kind 'diagnosis'",
        ),
        (
            {
                "inclusion": [
                    {
                        "name": "a1c",
                        "kind": "lab",
                        "codes": [{"system": "LOINC", "codes": ["4548-4"]}],
                        "value": {"comparator": "=>", "threshold": 8, "unit": "%"},
                    }
                ]
            },
            "inclusion.0.value.comparator",
        ),
        (
            {"inclusion": [{"name": "age", "kind": "demographics", "age": {"min": 80, "max": 40}}]},
            "age.min is greater than age.max",
        ),
        (
            {
                "inclusion": [
                    {
                        "name": "age",
                        "kind": "demographics",
                        "age": {"min": 40},
                        "window": {"days_before": 3},
                    }
                ]
            },
            "field 'window' is not allowed for kind 'demographics'",
        ),
        (
            {
                "inclusion": [
                    {
                        "name": "x",
                        "kind": "diagnosis",
                        "codes": [{"system": "ICD-10-CM", "codes": ["E11"]}],
                        "window": {"days_before": -5},
                    }
                ]
            },
            "inclusion.0.window.days_before",
        ),
        (
            {
                "exclusion": [
                    {"name": "poor metabolizer", "kind": "genomic", "answers": ["LA9657-3"]}
                ]
            },
            "rule names must be unique: poor metabolizer",
        ),
        (
            {
                "entry": {
                    "kind": "lab",
                    "value_set": "hba1c",
                    "period": {"start": "2025-01-01", "end": "2024-01-01"},
                }
            },
            "period.start is after period.end",
        ),
        (
            {"outcomes": [{"name": "ed", "kind": "encounter", "encounter_class": ["emergency"]}]},
            "outcomes.0.within_days",
        ),
    ],
)
def test_an_invalid_definition_is_refused_naming_the_field(
    change: dict[str, object], named: str
) -> None:
    with pytest.raises(InvalidCohort) as refused:
        parse_definition(_with(**change))
    assert named in str(refused.value)


def test_yaml_errors_and_non_mappings_are_clear() -> None:
    with pytest.raises(InvalidCohort, match="not valid YAML at line 2"):
        parse_definition("name: x\n  entry: [\n")
    with pytest.raises(InvalidCohort, match="is a mapping"):
        parse_definition("- just\n- a list\n")


def test_definitions_are_found_by_name_or_path_and_never_outside_the_folder(
    tmp_path: Path,
) -> None:
    assert isinstance(find_definition("t2d_metformin_uncontrolled"), CohortDefinition)
    with pytest.raises(UnknownCohort, match=r"shipped cohorts: .*t2d_metformin_uncontrolled"):
        find_definition("no_such_cohort")
    with pytest.raises(UnknownCohort):
        find_definition("../cohorts/t2d_metformin_uncontrolled")
    mine = tmp_path / "mine.yml"
    mine.write_text(
        "name: other\ndescription: d\nversion: 1\nentry: {kind: lab, value_set: hba1c}\n"
    )
    with pytest.raises(InvalidCohort, match="differs from the file name"):
        find_definition(str(mine))
    mine.write_text(mine.read_text().replace("other", "mine"))
    assert find_definition(str(mine)).name == "mine"


def test_the_fingerprint_changes_with_the_definition() -> None:
    first = parse_definition(VALID)
    assert parse_definition(VALID).fingerprint() == first.fingerprint()
    assert parse_definition(_with(version=2)).fingerprint() != first.fingerprint()
