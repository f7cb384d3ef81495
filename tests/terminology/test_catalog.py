import pytest

from transactional.errors import InvalidInput
from transactional.terminology.catalog import concepts, lookup, subset_versions, validate
from transactional.terminology.systems import CodeSystem


def test_known_code_is_found_with_its_display() -> None:
    concept = lookup(CodeSystem.ICD10CM, "E11.9")

    assert concept is not None
    assert concept.system is CodeSystem.ICD10CM
    assert concept.display == "Type 2 diabetes mellitus without complications"
    assert concept.billable is True


def test_unknown_code_is_not_found() -> None:
    assert lookup(CodeSystem.ICD10CM, "E11.999") is None


def test_unknown_system_finds_nothing() -> None:
    assert lookup("http://example.org/codes", "E11.9") is None


@pytest.mark.parametrize("spelling", ["E119", "e11.9", "e119", " E11.9 "])
def test_dotless_or_lowercase_icd10cm_code_is_normalised(spelling: str) -> None:
    concept = lookup("ICD10CM", spelling)

    assert concept is not None
    assert concept.code == "E11.9"


def test_three_character_icd10cm_code_keeps_no_dot() -> None:
    concept = lookup("icd-10-cm", "i10")

    assert concept is not None
    assert concept.code == "I10"


def test_icd10cm_category_is_known_but_not_billable() -> None:
    category = lookup(CodeSystem.ICD10CM, "M545")
    child = lookup(CodeSystem.ICD10CM, "M54.50")

    assert category is not None and category.billable is False
    assert child is not None and child.billable is True


@pytest.mark.parametrize(
    ("system", "code", "display"),
    [
        ("SNOMED-CT", "44054006", "Diabetes mellitus type 2 (disorder)"),
        ("http://snomed.info/sct", "764146007", "Penicillin (substance)"),
        ("LOINC", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
        ("RxNorm", "6809", "metformin"),
        ("HCPCS Level II", "j1100", "Injection, dexamethasone sodium phosphate, 1 mg"),
        ("UCUM", "mm[Hg]", "millimeter of mercury"),
    ],
)
def test_alias_systems_are_accepted(system: str, code: str, display: str) -> None:
    assert validate(system, code).display == display


def test_validate_rejects_unknown_code_naming_system_and_code() -> None:
    with pytest.raises(InvalidInput, match=r"^unknown ICD-10-CM code 'E11\.999'$"):
        validate("ICD-10-CM", "E11999")


def test_validate_rejects_unknown_system() -> None:
    with pytest.raises(InvalidInput, match=r"^unknown code system 'foo'$"):
        validate("foo", "E11.9")


def test_validate_rejects_system_not_allowed_and_lists_the_allowed_ones() -> None:
    message = (
        r"^code system 'http://loinc\.org' is not accepted here; use one of: ICD-10-CM, SNOMED CT$"
    )
    with pytest.raises(InvalidInput, match=message):
        validate("http://loinc.org", "4548-4", allowed=["ICD10CM", CodeSystem.SNOMEDCT])


def test_validate_accepts_allowed_system_under_another_spelling() -> None:
    concept = validate("SNOMED CT", "44054006", allowed=["icd-10-cm", "SNOMED-CT"])

    assert concept.system is CodeSystem.SNOMEDCT


def test_validate_rejects_unknown_system_against_allowed_list() -> None:
    with pytest.raises(InvalidInput, match=r"^code system 'foo' is not accepted here"):
        validate("foo", "1", allowed=[CodeSystem.ICD10CM])


def test_allowed_list_with_unknown_system_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown code system"):
        validate("ICD10CM", "E11.9", allowed=["ICD-9"])


def test_long_input_is_cut_short_in_the_message() -> None:
    with pytest.raises(InvalidInput) as raised:
        validate("LOINC", "9" * 500)

    assert len(str(raised.value)) < 80


def test_cpt_codes_are_known_without_description() -> None:
    concept = validate("CPT", "99213")

    assert concept.display is None
    assert all(cpt.display is None for cpt in concepts(CodeSystem.CPT).values())


@pytest.mark.parametrize(
    ("code", "unit"),
    [
        ("8480-6", "mm[Hg]"),
        ("8867-4", "/min"),
        ("8310-5", "Cel"),
        ("59408-5", "%"),
        ("29463-7", "kg"),
        ("8302-2", "cm"),
        ("39156-5", "kg/m2"),
        ("4548-4", "%"),
        ("2345-7", "mg/dL"),
        ("33914-3", "mL/min/{1.73_m2}"),
        ("85354-9", None),
    ],
)
def test_loinc_concept_carries_its_default_unit(code: str, unit: str | None) -> None:
    assert validate(CodeSystem.LOINC, code).unit == unit


def test_ucum_codes_keep_their_case() -> None:
    assert lookup(CodeSystem.UCUM, "kg") is not None
    assert lookup(CodeSystem.UCUM, "KG") is None


def test_subset_versions_name_every_system() -> None:
    versions = subset_versions()

    assert set(versions) == {str(system) for system in CodeSystem}
    assert all(versions.values())
