"""Publishing what the dashboards read: a Parquet snapshot of the marts and ops tables.

Embedded chDB is open in one process at a time, and dbt holds it for minutes, so dashboards
never read the warehouse while people click. After each build the pipeline copies the
aggregate marts, the care-gap worklist, the cohort results, the ops tables and the current
model cards into `state_dir/published/<timestamp>/` (one Parquet file per table and a
`manifest.json`), then points `published/CURRENT` at it (a temporary file and `os.replace`,
so a reader sees the old snapshot or the new one, never half of one). The snapshot before
the current one is kept for readers still on it; older ones are removed.

Every table keeps its `tenant_id` (as text) and readers filter on it. Small cells stay
suppressed as the marts have them (nothing is aggregated here). The snapshot holds the
care-gap worklist (MRNs): it lives beside the warehouse, under the same state folder.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from clickhouse_connect.driver.client import Client

from warehouse.quality import Connects

PUBLISHED = "published"
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
MODELS = "models"

# Aggregate marts (suppressed in dbt) and the one patient-level mart a permitted role may list.
MARTS: tuple[str, ...] = (
    "rev_kpi_summary",
    "rev_ar_aging",
    "rev_collections_monthly",
    "rev_denials_by_payer",
    "rev_denials_by_reason",
    "rev_payer_mix",
    "rev_revenue_monthly",
    "ph_condition_prevalence",
    "ph_utilization_monthly",
    "ph_utilization_summary",
    "ph_risk_tier_summary",
    "qm_measure_rates",
    "qm_care_gaps",
    "ops_appointments_monthly",
)
COHORT_TABLES: tuple[str, ...] = ("cohort_attrition", "cohort_characterization")
# Warehouse-wide tables without tenant_id: only counts, times and check names are copied,
# never another tenant's row ids (failing_keys) or volumes.
REPLICATION_RUNS = (
    "SELECT finished_at, kind, seconds, lag_seconds FROM ops.replication_runs "
    "ORDER BY finished_at DESC LIMIT 500"
)
CHECK_RESULTS = (
    "SELECT asset, check_name, expectation, max(c.checked_at) AS checked_at, "
    "argMax(c.status, c.checked_at) AS status, argMax(c.severity, c.checked_at) AS severity, "
    "argMax(c.expected, c.checked_at) AS expected "
    "FROM ops.check_results AS c GROUP BY asset, check_name, expectation "
    "ORDER BY asset, check_name, expectation"
)
MODEL_MONITORING = "SELECT * FROM ops.model_monitoring"


# Appointments per tenant, month, practitioner: no-shows, in-clinic waits, booked minutes
# against the working-hours template (schedule exceptions are not subtracted).
@dataclass(frozen=True)
class Published:
    """What one publication wrote: the snapshot folder and rows per table (absent: None)."""

    folder: Path
    rows: dict[str, int | None]
    models: list[str]


def published_root(state_dir: Path) -> Path:
    return state_dir / PUBLISHED


def current_snapshot(root: Path) -> Path | None:
    """The folder `CURRENT` points at, or None before the first publication."""
    pointer = root / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    folder = root / name
    return folder if name and (folder / MANIFEST).is_file() else None


def _exists(client: Client, database: str, table: str) -> bool:
    found = client.query(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        parameters={"db": database, "t": table},
    ).result_rows[0][0]
    return bool(found)


def _select_all(client: Client, database: str, table: str) -> str:
    """`SELECT` of every column, UUIDs as text (portable in Parquet and polars)."""
    rows = client.query(
        "SELECT name, type FROM system.columns WHERE database = {db:String} "
        "AND table = {t:String} ORDER BY position",
        parameters={"db": database, "t": table},
    ).result_rows
    columns = ", ".join(
        f"toString(`{name}`) AS `{name}`" if "UUID" in str(kind) else f"`{name}`"
        for name, kind in rows
    )
    return f"SELECT {columns} FROM {database}.`{table}`"  # noqa: S608 - names from system tables


def _arrow(client: Client, sql: str) -> pa.Table:
    table: pa.Table = client.query_arrow(sql)
    return table


def read_tables(client: Client) -> dict[str, pa.Table | None]:
    tables: dict[str, pa.Table | None] = {}
    for name in (*MARTS, *COHORT_TABLES):
        present = _exists(client, "analytics", name)
        tables[name] = _arrow(client, _select_all(client, "analytics", name)) if present else None
    tables["replication_runs"] = (
        _arrow(client, REPLICATION_RUNS) if _exists(client, "ops", "replication_runs") else None
    )
    tables["check_results"] = (
        _arrow(client, CHECK_RESULTS) if _exists(client, "ops", "check_results") else None
    )
    tables["model_monitoring"] = (
        _arrow(client, _select_all(client, "ops", "model_monitoring"))
        if _exists(client, "ops", "model_monitoring")
        else None
    )
    return tables


def current_cards(models_root: Path | None) -> dict[str, dict[str, Any]]:
    """The current version's card of every registered model (ml/registry.py's layout)."""
    if models_root is None or not (models_root / "index.json").is_file():
        return {}
    index = json.loads((models_root / "index.json").read_text(encoding="utf-8"))
    cards: dict[str, dict[str, Any]] = {}
    for model, entry in sorted(index.get("models", {}).items()):
        card = models_root / model / str(entry.get("current")) / "card.json"
        if entry.get("current") is not None and card.is_file():
            cards[model] = json.loads(card.read_text(encoding="utf-8"))
    return cards


def _prune(root: Path, keep: Iterable[str]) -> None:
    kept = set(keep)
    for folder in root.iterdir():
        # Dotted folders are publications still being written.
        if folder.is_dir() and not folder.name.startswith(".") and folder.name not in kept:
            shutil.rmtree(folder, ignore_errors=True)


def _write_pointer(root: Path, name: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=root, prefix=".current-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(name + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, root / CURRENT)


def publish(
    warehouse: Connects,
    *,
    root: Path,
    models_root: Path | None = None,
    now: datetime | None = None,
) -> Published:
    """Copy what the dashboards read into a new snapshot under `root` and make it current.

    The warehouse is held only while tables are read; files are written afterwards."""
    with warehouse.connect() as client:
        tables = read_tables(client)
    return write_snapshot(tables, root=root, cards=current_cards(models_root), now=now)


def write_snapshot(
    tables: dict[str, pa.Table | None],
    *,
    root: Path,
    cards: dict[str, dict[str, Any]],
    now: datetime | None = None,
) -> Published:
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    name = stamp.strftime("%Y%m%dT%H%M%S%fZ")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".staging-"))
    try:
        for table, data in tables.items():
            if data is not None:
                pq.write_table(data, staging / f"{table}.parquet")
        (staging / MODELS).mkdir()
        for model, card in cards.items():
            (staging / MODELS / f"{model}.json").write_text(json.dumps(card), encoding="utf-8")
        rows = {table: (None if data is None else data.num_rows) for table, data in tables.items()}
        manifest = {"published_at": stamp.isoformat(), "rows": rows, "models": sorted(cards)}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        folder = root / name
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous = current_snapshot(root)
    _write_pointer(root, name)
    _prune(root, {name} | ({previous.name} if previous is not None else set()))
    return Published(folder=folder, rows=rows, models=sorted(cards))
