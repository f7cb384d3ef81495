import csv
import hashlib
import io
import json
import re
from typing import Any

import pytest

from transactional.terminology.catalog import concepts, data_dir, normalise_code
from transactional.terminology.systems import CodeSystem

# Emitted by Synthea and shipped so its data imports, but its Verhoeff check digit is wrong.
SYNTHEA_INVALID_SNOMED = {"10939881000119104"}

LOINC_NOTICE = (
    "This material contains content from LOINC (http://loinc.org). LOINC is copyright © "
    "Regenstrief Institute, Inc. and the Logical Observation Identifiers Names and Codes "
    "(LOINC) Committee and is available at no cost under the license at "
    "http://loinc.org/license. LOINC® is a registered United States trademark of Regenstrief "
    "Institute, Inc."
)
SNOMED_NOTICE = "SNOMED CT® is a registered trademark of SNOMED International"
CPT_NOTICE = (
    "CPT® is a registered trademark of the American Medical Association; "
    "descriptions are not distributed"
)


def _manifest() -> list[dict[str, Any]]:
    subsets: list[dict[str, Any]] = json.loads(
        data_dir().joinpath("manifest.json").read_text(encoding="utf-8")
    )["subsets"]
    return subsets


def _rows(system: CodeSystem) -> list[dict[str, str]]:
    entry = next(entry for entry in _manifest() if entry["system"] == system)
    text = data_dir().joinpath(entry["file"]).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _codes(system: CodeSystem) -> list[str]:
    return [row["code"] for row in _rows(system)]


@pytest.mark.parametrize("entry", _manifest(), ids=lambda entry: entry["file"])
def test_manifest_hash_matches_the_file(entry: dict[str, Any]) -> None:
    content = data_dir().joinpath(entry["file"]).read_bytes()

    actual = hashlib.sha256(content).hexdigest()
    assert actual == entry["sha256"], f"{entry['file']} changed: set its sha256 to {actual}"


def test_manifest_names_every_system_and_every_file_once() -> None:
    systems = [entry["system"] for entry in _manifest()]
    listed = sorted(entry["file"] for entry in _manifest())
    shipped = sorted(item.name for item in data_dir().iterdir() if item.name.endswith(".csv"))

    assert sorted(systems) == sorted(str(system) for system in CodeSystem)
    assert listed == shipped


@pytest.mark.parametrize("entry", _manifest(), ids=lambda entry: entry["file"])
def test_manifest_records_provenance_and_licence(entry: dict[str, Any]) -> None:
    for key in ("short_name", "subset_version", "source_release", "license", "attribution"):
        assert isinstance(entry[key], str) and entry[key].strip(), key
    assert re.fullmatch(r"\d{4}\.\d+", entry["subset_version"])


def test_licence_notices_are_shipped() -> None:
    attribution = {entry["system"]: entry["attribution"] for entry in _manifest()}
    readme = " ".join(data_dir().joinpath("README.md").read_text(encoding="utf-8").split())

    assert attribution[CodeSystem.LOINC] == LOINC_NOTICE
    assert attribution[CodeSystem.SNOMEDCT].startswith(SNOMED_NOTICE)
    assert attribution[CodeSystem.CPT].startswith(CPT_NOTICE)
    for notice in (LOINC_NOTICE, SNOMED_NOTICE, CPT_NOTICE):
        assert notice in readme


@pytest.mark.parametrize("system", list(CodeSystem))
def test_every_file_parses_without_duplicate_codes(system: CodeSystem) -> None:
    codes = _codes(system)

    assert codes
    assert len(concepts(system)) == len(codes) == len(set(codes))


@pytest.mark.parametrize("system", list(CodeSystem))
def test_codes_are_stored_in_their_normal_form(system: CodeSystem) -> None:
    for code in _codes(system):
        assert code and normalise_code(system, code) == code


def test_cpt_file_carries_no_description() -> None:
    header = data_dir().joinpath("cpt.csv").read_text(encoding="utf-8").splitlines()[0]

    assert header == "code"


@pytest.mark.parametrize("system", [system for system in CodeSystem if system != CodeSystem.CPT])
def test_every_other_code_has_a_display(system: CodeSystem) -> None:
    for row in _rows(system):
        assert row["display"].strip() == row["display"] != "", row["code"]
        assert "  " not in row["display"], row["code"]


def test_icd10cm_codes_are_well_formed() -> None:
    for row in _rows(CodeSystem.ICD10CM):
        assert re.fullmatch(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?", row["code"]), row["code"]
        assert row["billable"] in ("true", "false")


def _loinc_check_digit_ok(code: str) -> bool:
    body, check = code.split("-")
    total = 0
    for position, digit in enumerate(int(char) for char in reversed(body)):
        doubled = digit * 2 if position % 2 == 0 else digit
        total += doubled // 10 + doubled % 10
    return (10 - total % 10) % 10 == int(check)


def test_loinc_codes_have_a_valid_check_digit() -> None:
    for code in _codes(CodeSystem.LOINC):
        assert re.fullmatch(r"\d{1,7}-\d", code) and _loinc_check_digit_ok(code), code


_VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_VERHOEFF_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def _snomed_check_digit_ok(code: str) -> bool:
    check = 0
    for position, digit in enumerate(int(char) for char in reversed(code)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[position % 8][digit]]
    return check == 0


def test_snomed_codes_are_concept_ids_with_a_valid_check_digit() -> None:
    for code in _codes(CodeSystem.SNOMEDCT):
        assert re.fullmatch(r"[1-9]\d{5,17}", code), code
        assert code[-3:-1] in ("00", "10"), f"{code} is not a concept identifier"
        assert _snomed_check_digit_ok(code) or code in SYNTHEA_INVALID_SNOMED, code


def test_known_invalid_synthea_code_really_is_invalid() -> None:
    assert not any(_snomed_check_digit_ok(code) for code in SYNTHEA_INVALID_SNOMED)
    assert _snomed_check_digit_ok("44054006")


def test_cpt_and_hcpcs_codes_are_well_formed() -> None:
    for code in _codes(CodeSystem.CPT):
        assert re.fullmatch(r"\d{5}|\d{4}[FT]", code), code
    for code in _codes(CodeSystem.HCPCS):
        assert re.fullmatch(r"[A-V]\d{4}", code), code


def test_rxnorm_codes_are_numeric() -> None:
    for code in _codes(CodeSystem.RXNORM):
        assert re.fullmatch(r"[1-9]\d*", code), code


def test_loinc_default_units_are_shipped_ucum_units() -> None:
    ucum = set(_codes(CodeSystem.UCUM))
    units = {row["unit"] for row in _rows(CodeSystem.LOINC) if row["unit"]}

    assert units <= ucum, units - ucum
