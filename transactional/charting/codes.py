"""The code systems charting accepts, and the one call that checks a code against them."""

from transactional.terminology.catalog import Concept, validate

LOINC = "http://loinc.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"

DIAGNOSIS_SYSTEMS = (ICD10CM, SNOMED)
PROCEDURE_SYSTEMS = (CPT, HCPCS, SNOMED)


def concept(system: str, code: str, *, allowed: tuple[str, ...]) -> Concept:
    """The shipped concept for a coding; `InvalidInput` names an unknown code or system."""
    return validate(system, code, allowed=allowed)
