"""The code systems codes may come from, and the spellings callers use for them."""

from enum import StrEnum


class CodeSystem(StrEnum):
    """Canonical FHIR system URIs; a coding's `system` is stored as one of these."""

    ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
    SNOMEDCT = "http://snomed.info/sct"
    LOINC = "http://loinc.org"
    CPT = "http://www.ama-assn.org/go/cpt"
    HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
    UCUM = "http://unitsofmeasure.org"
    RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
    CVX = "http://hl7.org/fhir/sid/cvx"

    @property
    def short_name(self) -> str:
        return _SHORT_NAMES[self]


_SHORT_NAMES = {
    CodeSystem.ICD10CM: "ICD-10-CM",
    CodeSystem.SNOMEDCT: "SNOMED CT",
    CodeSystem.LOINC: "LOINC",
    CodeSystem.CPT: "CPT",
    CodeSystem.HCPCS: "HCPCS",
    CodeSystem.UCUM: "UCUM",
    CodeSystem.RXNORM: "RxNorm",
    CodeSystem.CVX: "CVX",
}

# URIs and OIDs (as in C-CDA and HL7 v2 feeds), compared case-insensitively.
_URIS = {
    "http://hl7.org/fhir/sid/icd-10-cm": CodeSystem.ICD10CM,
    "urn:oid:2.16.840.1.113883.6.90": CodeSystem.ICD10CM,
    "http://snomed.info/sct": CodeSystem.SNOMEDCT,
    "urn:oid:2.16.840.1.113883.6.96": CodeSystem.SNOMEDCT,
    "http://loinc.org": CodeSystem.LOINC,
    "https://loinc.org": CodeSystem.LOINC,
    "urn:oid:2.16.840.1.113883.6.1": CodeSystem.LOINC,
    "http://www.ama-assn.org/go/cpt": CodeSystem.CPT,
    "urn:oid:2.16.840.1.113883.6.12": CodeSystem.CPT,
    "https://www.cms.gov/medicare/coding/hcpcsreleasecodesets": CodeSystem.HCPCS,
    "http://www.cms.gov/medicare/coding/hcpcsreleasecodesets": CodeSystem.HCPCS,
    "http://unitsofmeasure.org": CodeSystem.UCUM,
    "urn:oid:2.16.840.1.113883.6.8": CodeSystem.UCUM,
    "http://www.nlm.nih.gov/research/umls/rxnorm": CodeSystem.RXNORM,
    "urn:oid:2.16.840.1.113883.6.88": CodeSystem.RXNORM,
    "http://hl7.org/fhir/sid/cvx": CodeSystem.CVX,
    "urn:oid:2.16.840.1.113883.12.292": CodeSystem.CVX,
}

# Names, compared on letters and digits only: "SNOMED-CT", "snomed ct" and "SNOMEDCT" agree.
_NAMES = {
    "icd10cm": CodeSystem.ICD10CM,
    "snomedct": CodeSystem.SNOMEDCT,
    "snomed": CodeSystem.SNOMEDCT,
    "sct": CodeSystem.SNOMEDCT,
    "loinc": CodeSystem.LOINC,
    "lnc": CodeSystem.LOINC,
    "cpt": CodeSystem.CPT,
    "cpt4": CodeSystem.CPT,
    "hcpcs": CodeSystem.HCPCS,
    "hcpcslevelii": CodeSystem.HCPCS,
    "hcpcslevel2": CodeSystem.HCPCS,
    "ucum": CodeSystem.UCUM,
    "rxnorm": CodeSystem.RXNORM,
    "cvx": CodeSystem.CVX,
}


def find_system(spelling: str) -> CodeSystem | None:
    """The system a caller means by `spelling` (URI, OID or common name), if any."""
    uri = spelling.strip().casefold().rstrip("/")
    if uri in _URIS:
        return _URIS[uri]
    return _NAMES.get("".join(ch for ch in uri if ch.isalnum()))
