"""What the Cohorts page does beyond reading the snapshot: build a cohort a manager typed,
and write a de-identified extract of a cohort. Both go through the warehouse package's own
paths (the cohort runner, the extract writer and its access rules), hold the embedded
warehouse briefly, and say so when it is busy instead of waiting for a long build."""

import tempfile
from dataclasses import asdict
from pathlib import Path

import polars as pl

from dashboards.auth import Viewer
from dashboards.context import Context
from warehouse.client import Warehouse, WarehouseBusy
from warehouse.cohorts.definition import CohortDefinition
from warehouse.cohorts.loader import InvalidCohort, parse_definition, shipped_definitions
from warehouse.cohorts.runner import WarehouseNotBuilt, materialize_cohort
from warehouse.extracts.access import ExtractDenied, authorize, record_extract
from warehouse.extracts.extract import ExtractError, ExtractRequest, write_extract
from warehouse.extracts.keys import extract_key

BUSY_SECONDS = 10.0
BUSY = "The warehouse is busy (a pipeline run is building it); try again in a few minutes."


class CohortActionFailed(Exception):
    """A message safe to show."""


def _warehouse(ctx: Context) -> Warehouse:
    base = ctx.warehouse
    return Warehouse(url=base.url, data_dir=base.data_dir, lock_timeout=BUSY_SECONDS)


def parse_typed(text: str) -> CohortDefinition:
    try:
        definition = parse_definition(text)
    except InvalidCohort as exc:
        raise CohortActionFailed(f"Not a valid cohort definition: {exc}") from None
    if definition.name in shipped_definitions():
        raise CohortActionFailed(
            f"{definition.name!r} is a shipped cohort's name; give yours another name."
        )
    return definition


def build(
    ctx: Context, viewer: Viewer, definition: CohortDefinition
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Attrition and characterization of the typed cohort (every count suppressed)."""
    try:
        with _warehouse(ctx).connect() as client:
            result = materialize_cohort(client, definition=definition, tenant_id=viewer.tenant_id)
    except WarehouseBusy:
        raise CohortActionFailed(BUSY) from None
    except WarehouseNotBuilt:
        raise CohortActionFailed(
            "The warehouse is not built yet: run `emr pipeline run`."
        ) from None
    attrition = pl.DataFrame([asdict(step) for step in result.attrition])
    items = pl.DataFrame([asdict(item) for item in result.characterization])
    return attrition, items


def extract_bytes(ctx: Context, viewer: Viewer, definition: CohortDefinition) -> bytes:
    """A de-identified DuckDB extract of the cohort, audited as the viewer's."""
    try:
        requester = authorize(
            ctx.database, tenant_id=viewer.tenant_id, email=viewer.email, identified=False
        )
    except ExtractDenied as exc:
        raise CohortActionFailed(f"Not permitted: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="emr-extract-") as folder:
        out = Path(folder) / f"{definition.name}.duckdb"
        request = ExtractRequest(tenant_id=viewer.tenant_id, out=out, cohort=definition)
        try:
            write_extract(
                _warehouse(ctx),
                request,
                key=extract_key(ctx.settings),
                before_publish=lambda made: record_extract(
                    ctx.database, requester=requester, request=request, report=made
                ),
            )
        except WarehouseBusy:
            raise CohortActionFailed(BUSY) from None
        except (ExtractError, WarehouseNotBuilt) as exc:
            raise CohortActionFailed(str(exc)) from None
        return out.read_bytes()
