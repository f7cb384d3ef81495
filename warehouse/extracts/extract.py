"""Research extracts: a DuckDB file and a Parquet folder of a tenant's patient-level data, a
cohort's, or chosen marts, de-identified unless asked otherwise.

The warehouse is held only while rows are read (embedded chDB is one process at a time);
de-identification and file writing happen afterwards. Who may ask for what, and the audit
trail, are the caller's business (`access.py`): `before_publish` lets it record the audit
event after everything is written and before anything is visible.
"""

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
from clickhouse_connect.driver.client import Client

from transactional.settings import PROJECT_ROOT
from warehouse.client import Warehouse
from warehouse.cohorts.definition import CohortDefinition
from warehouse.cohorts.runner import ensure_built, materialize_cohort
from warehouse.cohorts.sql import ANALYTICS
from warehouse.extracts.columns import (
    COHORT_TABLES,
    PATIENT_TABLES,
    Column,
    TableSpec,
    Treatment,
    classify,
)
from warehouse.extracts.deidentify import DateMode, Deidentifier
from warehouse.extracts.dictionary import Entry, dbt_documentation, describe
from warehouse.extracts.transform import deidentified, output_name
from warehouse.extracts.writer import check_destination, parquet_folder, write_extract_files

MARTS = PROJECT_ROOT / "dbt_project" / "models" / "marts"


class ExtractError(ValueError):
    """Bad input (unknown mart, unbuilt warehouse...); the message is safe to show."""


@dataclass(frozen=True)
class ExtractRequest:
    tenant_id: uuid.UUID
    out: Path
    cohort: CohortDefinition | None = None
    marts: tuple[str, ...] = ()
    identified: bool = False
    dates: DateMode = "shift"
    force: bool = False


@dataclass(frozen=True)
class ExtractReport:
    extract_id: uuid.UUID
    out: Path
    parquet_dir: Path
    identified: bool
    rows: dict[str, int] = field(default_factory=dict)
    patients: int = 0


def available_marts() -> list[str]:
    """Marts of the dbt project (models under `marts/`)."""
    return sorted(path.stem for path in MARTS.rglob("*.sql"))


def _columns(client: Client, table: str) -> dict[str, str]:
    rows = client.query(
        "SELECT name, type FROM system.columns WHERE database = {db:String} "
        "AND table = {t:String} ORDER BY position",
        parameters={"db": ANALYTICS, "t": table},
    ).result_rows
    return {str(name): str(kind) for name, kind in rows}


def _selected(name: str, kind: str) -> str:
    """UUIDs read as text (Arrow has no portable UUID type for DuckDB and Parquet alike)."""
    return f"toString(`{name}`) AS `{name}`" if "UUID" in kind else f"`{name}`"


def _read(
    client: Client, table: str, columns: dict[str, str], condition: str, parameters: dict[str, Any]
) -> pl.DataFrame:
    """Rows of `table` (aliased `src`: conditions name `src.column`, since ClickHouse lets a
    select alias such as `toString(id) AS id` shadow the column in WHERE)."""
    select = ", ".join(_selected(name, kind) for name, kind in columns.items())
    arrow = client.query_arrow(
        f"SELECT {select} FROM {ANALYTICS}.`{table}` AS src WHERE {condition}",  # noqa: S608
        parameters=parameters,
    )
    frame = pl.from_arrow(arrow)
    assert isinstance(frame, pl.DataFrame)
    return frame


@dataclass
class _Collected:
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)
    columns: dict[str, list[Column]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    patient_columns: dict[str, str] = field(default_factory=dict)
    described: dict[str, str] = field(default_factory=dict)


def _scope(request: ExtractRequest) -> str:
    if request.cohort is not None:
        return (
            f"SELECT patient_id FROM {ANALYTICS}.cohort_membership "  # noqa: S608
            "WHERE tenant_id = {tenant:UUID} AND cohort = {cohort:String}"
        )
    return (
        f"SELECT id FROM {ANALYTICS}.stg_patients "  # noqa: S608
        "WHERE tenant_id = {tenant:UUID} "
        "AND NOT is_deleted AND merged_into_id IS NULL"
    )


def _collect_spec(
    client: Client, spec: TableSpec, request: ExtractRequest, into: _Collected
) -> None:
    available = _columns(client, spec.source)
    if not available:
        raise ExtractError(f"{ANALYTICS}.{spec.source} does not exist: run the dbt build first")
    parameters: dict[str, Any] = {"tenant": str(request.tenant_id)}
    condition = (
        f"src.tenant_id = {{tenant:UUID}} AND src.{spec.patient_column} IN ({_scope(request)})"
    )
    if request.cohort is not None:
        parameters["cohort"] = request.cohort.name
        if spec in COHORT_TABLES:
            condition += " AND src.cohort = {cohort:String}"
    if request.identified:
        wanted = available
        columns = [Column(name) for name in available]
    else:
        columns = list(spec.columns)
        wanted = {c.source_column: available[c.source_column] for c in columns}
        if spec.patient_column not in wanted:
            wanted[spec.patient_column] = available[spec.patient_column]
        if "deceased_date" in available and any(c.source == "birth_date" for c in columns):
            wanted["deceased_date"] = available["deceased_date"]
    condition += f" AND ({spec.condition})"
    into.frames[spec.name] = _read(client, spec.source, wanted, condition, parameters)
    into.columns[spec.name] = columns
    into.sources[spec.name] = spec.source
    into.patient_columns[spec.name] = spec.patient_column
    into.described[spec.name] = spec.description


def _collect_mart(client: Client, mart: str, request: ExtractRequest, into: _Collected) -> None:
    available = _columns(client, mart)
    if not available:
        raise ExtractError(f"mart {mart!r} is not built in the warehouse: run the dbt build")
    if "tenant_id" not in available:
        raise ExtractError(f"mart {mart!r} has no tenant_id column and cannot be extracted")
    patient = next((n for n in available if n == "patient_id"), None)
    condition = "src.tenant_id = {tenant:UUID}"
    parameters: dict[str, Any] = {"tenant": str(request.tenant_id)}
    if patient is not None:
        condition += f" AND src.patient_id IN ({_scope(request)})"
        if request.cohort is not None:
            parameters["cohort"] = request.cohort.name
    if request.identified:
        columns = [Column(name) for name in available]
    else:
        columns = [classify(n, t, patient_level=patient is not None) for n, t in available.items()]
    into.frames[mart] = _read(client, mart, available, condition, parameters)
    into.columns[mart] = columns
    into.sources[mart] = mart
    into.patient_columns[mart] = patient or ""
    documented = dbt_documentation().get(mart)
    into.described[mart] = documented.description if documented else ""


def _collect(client: Client, request: ExtractRequest) -> _Collected:
    ensure_built(client)
    collected = _Collected()
    if request.cohort is not None:
        materialize_cohort(client, definition=request.cohort, tenant_id=request.tenant_id)
    for mart in request.marts:
        _collect_mart(client, mart, request, collected)
    if not request.marts:
        for spec in PATIENT_TABLES:
            _collect_spec(client, spec, request, collected)
    if request.cohort is not None:
        for spec in COHORT_TABLES:
            _collect_spec(client, spec, request, collected)
    return collected


def _dictionary(
    name: str, frame: pl.DataFrame, columns: list[Column], source: str, request: ExtractRequest
) -> list[Entry]:
    entries = []
    by_output = {output_name(c, request.dates): c for c in columns}
    for output, dtype in frame.schema.items():
        column = by_output[output]
        transformation = "as recorded (identified extract)"
        if not request.identified:
            treatment = column.treatment
            if treatment is Treatment.DATE and request.dates == "year":
                treatment = Treatment.YEAR
            transformation = treatment.value
        description = column.description or describe(source, column.source_column)
        entries.append(Entry(name, output, str(dtype), transformation, description))
    return entries


def write_extract(
    warehouse: Warehouse,
    request: ExtractRequest,
    *,
    key: bytes | None,
    today: date | None = None,
    before_publish: Callable[[ExtractReport], None] | None = None,
) -> ExtractReport:
    """Read, de-identify (unless `request.identified`), write and publish an extract.

    `key` (keys.extract_key) is required for a de-identified extract."""
    if not request.identified and key is None:
        raise ExtractError("a de-identified extract needs the extract key")
    check_destination(request.out, force=request.force)
    for mart in request.marts:
        if mart not in available_marts():
            known = ", ".join(available_marts()) or "none"
            raise ExtractError(f"no mart named {mart!r}; marts: {known}")
    with warehouse.connect() as client:
        collected = _collect(client, request)
    day = today or datetime.now(UTC).date()
    tables: dict[str, pa.Table] = {}
    entries: list[Entry] = []
    for name, frame in collected.frames.items():
        columns = collected.columns[name]
        if request.identified:
            output = frame.select([c.name for c in columns])
        else:
            tool = Deidentifier(key or b"", request.tenant_id, request.dates)
            patient = collected.patient_columns[name]
            output = deidentified(frame, columns, patient, tool, day)
        tables[name] = output.to_arrow()
        entries += _dictionary(name, output, columns, collected.sources[name], request)
    extract_id = uuid.uuid4()
    info = _info(extract_id, request, day)
    tables["extract_info"] = info
    described = dict(collected.described)
    described["extract_info"] = "How this extract was made."
    entries += [
        Entry("extract_info", "property", "String", "", "What is described."),
        Entry("extract_info", "value", "String", "", "Its value."),
    ]
    tables["data_dictionary"] = pa.Table.from_pylist([asdict(e) for e in entries])
    described["data_dictionary"] = "Every column of every table: type, treatment, meaning."
    patients = collected.frames.get("patients")
    report = ExtractReport(
        extract_id=extract_id,
        out=request.out,
        parquet_dir=parquet_folder(request.out),
        identified=request.identified,
        rows={name: table.num_rows for name, table in tables.items()},
        patients=patients.height if patients is not None else 0,
    )
    write_extract_files(
        request.out,
        tables=tables,
        entries=entries,
        described=described,
        force=request.force,
        before_publish=(lambda: before_publish(report)) if before_publish else None,
    )
    return report


def _info(extract_id: uuid.UUID, request: ExtractRequest, day: date) -> pa.Table:
    cohort = request.cohort
    properties = {
        "extract_id": str(extract_id),
        "created_on": day.isoformat(),
        "mode": "identified" if request.identified else "de-identified (HIPAA Safe Harbor)",
        "dates": "as recorded" if request.identified else request.dates,
        "cohort": cohort.name if cohort else "",
        "cohort_version": cohort.version if cohort else "",
        "cohort_definition_hash": cohort.fingerprint() if cohort else "",
        "marts": ",".join(request.marts),
    }
    return pa.table({"property": list(properties), "value": list(properties.values())})
