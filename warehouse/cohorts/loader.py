"""Reading cohort definitions from YAML text, a mapping, or the shipped folder.

Dashboards hand a definition over as text or a dict; the CLI and the pipeline use the files
under `dbt_project/cohorts/`. Whatever the source, a bad definition raises `InvalidCohort`
naming each offending field, never a stack trace.
"""

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from transactional.settings import PROJECT_ROOT
from warehouse.cohorts.definition import CohortDefinition

SHIPPED = PROJECT_ROOT / "dbt_project" / "cohorts"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


class InvalidCohort(ValueError):
    """A definition that does not follow the format; the message names every bad field."""


class UnknownCohort(LookupError):
    pass


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(definition)"


def _described(error: ValidationError) -> str:
    lines = []
    for problem in error.errors(include_url=False, include_input=False):
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"{_location(problem['loc'])}: {message}")
    return "; ".join(lines)


def parse_definition(source: str | Mapping[str, Any]) -> CohortDefinition:
    """A definition from YAML (or JSON) text, or from an already parsed mapping."""
    data: Any = source
    if isinstance(source, str):
        try:
            data = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise InvalidCohort(f"not valid YAML{where}") from None
    if not isinstance(data, Mapping):
        raise InvalidCohort("a cohort definition is a mapping (name, description, entry, ...)")
    try:
        return CohortDefinition.model_validate(dict(data))
    except ValidationError as exc:
        raise InvalidCohort(_described(exc)) from None


def load_definition(path: Path) -> CohortDefinition:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise UnknownCohort(f"cannot read cohort definition {path.name}") from None
    try:
        definition = parse_definition(text)
    except InvalidCohort as exc:
        raise InvalidCohort(f"{path.name}: {exc}") from None
    if definition.name != path.stem:
        raise InvalidCohort(f"{path.name}: name {definition.name!r} differs from the file name")
    return definition


def shipped_definitions(directory: Path = SHIPPED) -> dict[str, CohortDefinition]:
    """Every definition in `directory`, by name."""
    return {path.stem: load_definition(path) for path in sorted(directory.glob("*.yml"))}


def find_definition(name_or_path: str, directory: Path = SHIPPED) -> CohortDefinition:
    """A shipped definition by name, or a definition file by path (`.yml`/`.yaml`)."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yml", ".yaml"}:
        if not candidate.is_file():
            raise UnknownCohort(f"no cohort definition file {candidate.name}")
        return load_definition(candidate)
    path = directory / f"{name_or_path}.yml"
    if not _NAME.fullmatch(name_or_path) or not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.yml"))) or "none"
        raise UnknownCohort(f"no cohort named {name_or_path!r}; shipped cohorts: {known}")
    return load_definition(path)
