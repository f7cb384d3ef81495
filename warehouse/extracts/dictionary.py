"""The data dictionary that travels with every extract: each column, its type, what it
means (the dbt documentation of its source column where there is one) and what was done to
it. Written as a table in the DuckDB file and as Markdown and JSON beside the Parquet files.
"""

import json
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import yaml

from transactional.settings import PROJECT_ROOT

MODELS = PROJECT_ROOT / "dbt_project" / "models"


@dataclass(frozen=True)
class Documented:
    description: str
    columns: dict[str, str]


@dataclass(frozen=True)
class Entry:
    table_name: str
    column_name: str
    data_type: str
    transformation: str
    description: str


@cache
def dbt_documentation(models: Path = MODELS) -> dict[str, Documented]:
    """Model and column descriptions from the dbt project's `.yml` files (read, not parsed by
    dbt: no manifest needed)."""
    documented: dict[str, Documented] = {}
    for path in sorted(models.rglob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in content.get("models", []) or []:
            columns = {
                str(c["name"]): " ".join(str(c.get("description", "")).split())
                for c in model.get("columns", []) or []
                if "name" in c
            }
            description = " ".join(str(model.get("description", "")).split())
            documented[str(model["name"])] = Documented(description, columns)
    return documented


def describe(model: str, column: str) -> str:
    documented = dbt_documentation().get(model)
    return documented.columns.get(column, "") if documented else ""


def write_files(entries: list[Entry], tables: dict[str, str], folder: Path) -> None:
    """`data_dictionary.md` and `data_dictionary.json` in `folder`; `tables` describes each
    table."""
    payload = {
        "tables": [{"name": name, "description": text} for name, text in tables.items()],
        "columns": [asdict(entry) for entry in entries],
    }
    (folder / "data_dictionary.json").write_text(json.dumps(payload, indent=2) + "\n")
    lines = ["# Data dictionary", ""]
    for name, text in tables.items():
        lines += [f"## {name}", "", text, "", "| column | type | transformation | description |"]
        lines.append("|---|---|---|---|")
        for entry in entries:
            if entry.table_name == name:
                cells = [
                    entry.column_name,
                    entry.data_type,
                    entry.transformation,
                    entry.description,
                ]
                lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    (folder / "data_dictionary.md").write_text("\n".join(lines))
