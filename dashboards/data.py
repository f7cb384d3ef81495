"""Reading the published snapshot (warehouse/publish.py): one tenant's rows of one table.

Every read names the tenant, so no page can forget the filter. Frames are cached per
snapshot folder, table and tenant; a new publication is a new folder, hence fresh reads.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from warehouse.publish import MANIFEST, MODELS, current_snapshot

NOT_PUBLISHED = (
    "No data published yet: run `emr pipeline run` (it replicates, builds the marts and "
    "publishes the dashboards' snapshot)."
)


@st.cache_resource(show_spinner=False, max_entries=512)
def _read(folder: str, table: str, tenant: str) -> pl.DataFrame | None:
    path = Path(folder) / f"{table}.parquet"
    if not path.is_file():
        return None
    frame = pl.scan_parquet(path)
    if "tenant_id" in frame.collect_schema().names():
        frame = frame.filter(pl.col("tenant_id") == tenant)
    return frame.collect()


@st.cache_resource(show_spinner=False, max_entries=64)
def _global(folder: str, table: str) -> pl.DataFrame | None:
    path = Path(folder) / f"{table}.parquet"
    return pl.read_parquet(path) if path.is_file() else None


@dataclass(frozen=True)
class Snapshot:
    folder: Path
    published_at: datetime
    tenant_id: uuid.UUID

    @classmethod
    def current(cls, root: Path, tenant_id: uuid.UUID) -> "Snapshot | None":
        folder = current_snapshot(root)
        if folder is None:
            return None
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return cls(folder, datetime.fromisoformat(manifest["published_at"]), tenant_id)

    def table(self, name: str) -> pl.DataFrame | None:
        """The tenant's rows; None when the table was not built when this was published."""
        return _read(str(self.folder), name, str(self.tenant_id))

    def warehouse_wide(self, name: str) -> pl.DataFrame | None:
        """A table without tenants (replication passes, check outcomes: counts and names)."""
        return _global(str(self.folder), name)

    def model_cards(self) -> dict[str, dict[str, Any]]:
        """Current model cards of models trained on this tenant's data."""
        cards = {}
        for path in sorted((self.folder / MODELS).glob("*.json")):
            card = json.loads(path.read_text(encoding="utf-8"))
            if str(self.tenant_id) in card.get("tenants", []):
                cards[path.stem] = card
        return cards


def rows(frame: pl.DataFrame | None) -> bool:
    return frame is not None and not frame.is_empty()
