"""Every code the Synthea sample uses in a shipped system must be in the catalog."""

import csv
import re
from collections.abc import Callable

from tests.factories.synthea import SAMPLE
from transactional.terminology.catalog import lookup
from transactional.terminology.systems import CodeSystem, find_system

Row = dict[str, str]


def _codes(file: str, *columns: str, where: Callable[[Row], bool] | None = None) -> set[str]:
    with (SAMPLE / file).open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if where is None or where(row)]
    return {row[column] for row in rows for column in columns if row[column]}


def _missing(system: CodeSystem, codes: set[str]) -> list[str]:
    assert codes
    return sorted(code for code in codes if lookup(system, code) is None)


def test_every_sample_snomed_code_is_in_the_catalog() -> None:
    codes = (
        _codes("conditions.csv", "CODE")
        | _codes("allergies.csv", "CODE", where=lambda row: row["SYSTEM"] == "SNOMED-CT")
        | _codes("allergies.csv", "REACTION1", "REACTION2")
        | _codes("procedures.csv", "CODE", "REASONCODE")
        | _codes("encounters.csv", "CODE", "REASONCODE")
        | _codes("careplans.csv", "CODE", "REASONCODE")
        | _codes("medications.csv", "REASONCODE")
        | _codes("devices.csv", "CODE")
        | _codes("supplies.csv", "CODE")
        | _codes("imaging_studies.csv", "BODYSITE_CODE")
    )

    assert _missing(CodeSystem.SNOMEDCT, codes) == []


def test_every_sample_rxnorm_code_is_in_the_catalog() -> None:
    codes = _codes("medications.csv", "CODE") | _codes(
        "allergies.csv", "CODE", where=lambda row: row["SYSTEM"] == "RxNorm"
    )

    assert _missing(CodeSystem.RXNORM, codes) == []


def test_every_sample_loinc_code_is_in_the_catalog() -> None:
    # DALY, QALY and QOLS are Synthea's own observation codes, not LOINC.
    codes = _codes(
        "observations.csv", "CODE", where=lambda row: bool(re.fullmatch(r"\d+-\d", row["CODE"]))
    )

    assert _missing(CodeSystem.LOINC, codes) == []


def test_sample_allergy_systems_are_accepted_spellings() -> None:
    for spelling in _codes("allergies.csv", "SYSTEM"):
        assert find_system(spelling) is not None, spelling
