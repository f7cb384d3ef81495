"""Lookup and validation of codes against the subsets shipped in `data/`.

The files are read on first use and kept for the life of the process; `data/manifest.json`
says which file holds which system and the subset version recorded for provenance.
"""

import csv
import io
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from types import MappingProxyType

from transactional.errors import InvalidInput
from transactional.terminology.systems import CodeSystem, find_system

_COLUMNS = {
    CodeSystem.ICD10CM: ("code", "display", "billable"),
    CodeSystem.SNOMEDCT: ("code", "display"),
    CodeSystem.LOINC: ("code", "display", "unit"),
    CodeSystem.CPT: ("code",),
    CodeSystem.HCPCS: ("code", "display"),
    CodeSystem.UCUM: ("code", "display"),
    CodeSystem.RXNORM: ("code", "display"),
    CodeSystem.CVX: ("code", "display"),
}


@dataclass(frozen=True, slots=True)
class Concept:
    """One code of a shipped subset.

    `display` is None for CPT, whose descriptions are AMA-licensed and not distributed.
    `unit` is the default UCUM unit of a LOINC code; `billable` is set for ICD-10-CM only,
    where category codes are known but cannot be billed.
    """

    system: CodeSystem
    code: str
    display: str | None
    unit: str | None = None
    billable: bool | None = None


@dataclass(frozen=True, slots=True)
class Subset:
    system: CodeSystem
    file: str
    version: str


def data_dir() -> Traversable:
    return files("transactional.terminology").joinpath("data")


@cache
def subsets() -> Mapping[CodeSystem, Subset]:
    manifest = json.loads(data_dir().joinpath("manifest.json").read_text(encoding="utf-8"))
    found: dict[CodeSystem, Subset] = {}
    for entry in manifest["subsets"]:
        system = CodeSystem(entry["system"])
        found[system] = Subset(system, str(entry["file"]), str(entry["subset_version"]))
    missing = set(CodeSystem) - set(found)
    if missing:
        raise ValueError(f"manifest.json lists no file for {sorted(missing)}")
    return MappingProxyType(found)


def subset_versions() -> dict[str, str]:
    """System URI to the version of the subset shipped for it, for provenance records."""
    return {str(system): subset.version for system, subset in subsets().items()}


def normalise_code(system: CodeSystem, code: str) -> str:
    """The stored spelling of `code`: ICD-10-CM `e119` is `E11.9`; UCUM keeps its case."""
    code = code.strip()
    if system in (CodeSystem.ICD10CM, CodeSystem.CPT, CodeSystem.HCPCS):
        code = code.upper()
    if system is CodeSystem.ICD10CM and len(code) > 3 and "." not in code:
        code = f"{code[:3]}.{code[3:]}"
    return code


@cache
def concepts(system: CodeSystem) -> Mapping[str, Concept]:
    subset = subsets()[system]
    text = data_dir().joinpath(subset.file).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != _COLUMNS[system]:
        raise ValueError(f"{subset.file} must have the columns {','.join(_COLUMNS[system])}")
    found: dict[str, Concept] = {}
    for row in reader:
        concept = _concept(system, row)
        if concept.code in found:
            raise ValueError(f"{subset.file} lists {concept.code!r} twice")
        found[concept.code] = concept
    return MappingProxyType(found)


def _concept(system: CodeSystem, row: dict[str, str]) -> Concept:
    billable = row.get("billable")
    if billable not in (None, "true", "false"):
        raise ValueError(f"billable must be true or false, not {billable!r}")
    return Concept(
        system=system,
        code=row["code"],
        display=row.get("display") or None,
        unit=row.get("unit") or None,
        billable=None if billable is None else billable == "true",
    )


def lookup(system: str, code: str) -> Concept | None:
    """The concept for `code` in `system` (any accepted spelling), or None if not shipped."""
    resolved = find_system(system)
    if resolved is None:
        return None
    return concepts(resolved).get(normalise_code(resolved, code))


def validate(system: str, code: str, *, allowed: Collection[str] | None = None) -> Concept:
    """The concept for a caller's coding, or InvalidInput saying what is wrong with it.

    `allowed` limits the systems a field accepts (e.g. a diagnosis takes ICD-10-CM or
    SNOMED CT); its entries may be any accepted spelling.
    """
    resolved = find_system(system)
    if allowed is not None:
        accepted = list(dict.fromkeys(_allowed_system(spelling) for spelling in allowed))
        if resolved not in accepted:
            names = ", ".join(option.short_name for option in accepted)
            raise InvalidInput(
                f"code system {shown(system)!r} is not accepted here; use one of: {names}"
            )
    if resolved is None:
        raise InvalidInput(f"unknown code system {shown(system)!r}")
    normalised = normalise_code(resolved, code)
    concept = concepts(resolved).get(normalised)
    if concept is None:
        raise InvalidInput(f"unknown {resolved.short_name} code {shown(normalised)!r}")
    return concept


def shown(text: str) -> str:
    """Caller input echoed in an error message, cut short so a message stays a message."""
    return text if len(text) <= 40 else text[:40] + "..."


def _allowed_system(spelling: str) -> CodeSystem:
    system = find_system(spelling)
    if system is None:
        raise ValueError(f"allowed names an unknown code system {spelling!r}")
    return system
