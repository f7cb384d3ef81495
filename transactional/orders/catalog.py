"""The orderable lab tests and imaging procedures, shipped as versioned data in `data/`.

Read once per process. Codes and displays come from the terminology subsets; this catalog
adds what ordering and resulting need: the kind of each test, its UCUM unit, default
reference interval and critical limits, panel membership and qualitative answers.
"""

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from types import MappingProxyType

from transactional.terminology.catalog import lookup
from transactional.terminology.systems import CodeSystem

TEST_KINDS = ("panel", "quantitative", "qualitative")


@dataclass(frozen=True, slots=True)
class Answer:
    code: str
    display: str
    abnormal: bool | None


@dataclass(frozen=True, slots=True)
class LabTest:
    """One orderable LOINC test. `members` is set for a panel, `answers` for a qualitative
    test; ranges are in `unit`, and None where the catalog sets no limit."""

    code: str
    display: str
    kind: str
    unit: str | None
    also_accepts: frozenset[str]
    low: Decimal | None
    high: Decimal | None
    critical_low: Decimal | None
    critical_high: Decimal | None
    members: frozenset[str]
    answers: Mapping[str, Answer]

    def accepts(self, code: str) -> bool:
        """Whether a result coded `code` belongs to an order of this test."""
        return code == self.code if self.kind != "panel" else code in self.members


@dataclass(frozen=True, slots=True)
class Catalog:
    version: str
    tests: Mapping[str, LabTest]
    imaging: frozenset[tuple[str, str]]


def data_dir() -> Traversable:
    return files("transactional.orders").joinpath("data")


def _rows(name: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    text = data_dir().joinpath(name).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != columns:
        raise ValueError(f"{name} must have the columns {','.join(columns)}")
    return list(reader)


def _decimal(value: str) -> Decimal | None:
    return Decimal(value) if value else None


def _display(code: str) -> str:
    concept = lookup(CodeSystem.LOINC, code)
    if concept is None or concept.display is None:
        raise ValueError(f"catalog code {code} is not in the shipped LOINC subset")
    return concept.display


def _answers(code: str, rows: list[dict[str, str]]) -> Mapping[str, Answer]:
    found = {}
    for row in rows:
        if row["test_code"] == code:
            abnormal = None if not row["abnormal"] else row["abnormal"] == "true"
            found[row["answer_code"]] = Answer(row["answer_code"], row["display"], abnormal)
    return MappingProxyType(found)


def _test(row: dict[str, str], members: frozenset[str], answers: Mapping[str, Answer]) -> LabTest:
    if row["kind"] not in TEST_KINDS:
        raise ValueError(f"lab test {row['code']} has an unknown kind {row['kind']!r}")
    return LabTest(
        code=row["code"],
        display=_display(row["code"]),
        kind=row["kind"],
        unit=row["unit"] or None,
        also_accepts=frozenset(unit for unit in row["also_accepts"].split(";") if unit),
        low=_decimal(row["low"]),
        high=_decimal(row["high"]),
        critical_low=_decimal(row["critical_low"]),
        critical_high=_decimal(row["critical_high"]),
        members=members,
        answers=answers,
    )


@cache
def catalog() -> Catalog:
    manifest = json.loads(data_dir().joinpath("manifest.json").read_text(encoding="utf-8"))
    panels: dict[str, set[str]] = {}
    for row in _rows("lab_panels.csv", ("panel_code", "member_code")):
        panels.setdefault(row["panel_code"], set()).add(row["member_code"])
    answers = _rows("lab_answers.csv", ("test_code", "answer_code", "display", "abnormal"))
    columns = ("code", "kind", "unit", "also_accepts", "low", "high")
    tests = {
        row["code"]: _test(
            row,
            frozenset(panels.get(row["code"], ())),
            _answers(row["code"], answers),
        )
        for row in _rows("lab_tests.csv", (*columns, "critical_low", "critical_high"))
    }
    imaging = frozenset(
        (row["system"], row["code"]) for row in _rows("imaging_procedures.csv", ("system", "code"))
    )
    return Catalog(str(manifest["catalog_version"]), MappingProxyType(tests), imaging)


def lab_test(code: str) -> LabTest | None:
    return catalog().tests.get(code)


def is_orderable_imaging(system: str, code: str) -> bool:
    return (system, code) in catalog().imaging
