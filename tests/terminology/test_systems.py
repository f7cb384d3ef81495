import pytest

from transactional.terminology.systems import CodeSystem, find_system


@pytest.mark.parametrize(
    ("spelling", "system"),
    [
        ("ICD10CM", CodeSystem.ICD10CM),
        ("icd-10-cm", CodeSystem.ICD10CM),
        ("ICD-10-CM", CodeSystem.ICD10CM),
        ("urn:oid:2.16.840.1.113883.6.90", CodeSystem.ICD10CM),
        ("SNOMED-CT", CodeSystem.SNOMEDCT),
        ("SNOMED CT", CodeSystem.SNOMEDCT),
        ("snomed", CodeSystem.SNOMEDCT),
        ("urn:oid:2.16.840.1.113883.6.96", CodeSystem.SNOMEDCT),
        ("LOINC", CodeSystem.LOINC),
        ("http://loinc.org/", CodeSystem.LOINC),
        ("RxNorm", CodeSystem.RXNORM),
        ("RXNORM", CodeSystem.RXNORM),
        ("CPT-4", CodeSystem.CPT),
        ("HCPCS Level II", CodeSystem.HCPCS),
        ("http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", CodeSystem.HCPCS),
        ("ucum", CodeSystem.UCUM),
    ],
)
def test_common_spellings_resolve_to_the_canonical_uri(spelling: str, system: CodeSystem) -> None:
    assert find_system(spelling) is system


@pytest.mark.parametrize("system", list(CodeSystem))
def test_canonical_uri_resolves_to_itself(system: CodeSystem) -> None:
    assert find_system(str(system)) is system


@pytest.mark.parametrize("spelling", ["ICD-10", "ICD-9-CM", "", "http://example.org/sct"])
def test_other_systems_are_not_mistaken_for_a_known_one(spelling: str) -> None:
    assert find_system(spelling) is None


def test_short_names_read_as_people_write_them() -> None:
    assert [system.short_name for system in CodeSystem] == [
        "ICD-10-CM",
        "SNOMED CT",
        "LOINC",
        "CPT",
        "HCPCS",
        "UCUM",
        "RxNorm",
        "CVX",
    ]
