"""The Synthea sample, copies of it to corrupt, imports of it, and what a tenant holds."""

import csv
import shutil
import uuid
from pathlib import Path

from sqlalchemy import Engine, func, select, text

from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.models import Base
from transactional.synthea.importer import import_synthea
from transactional.synthea.report import ImportReport
from transactional.tenancy import bind_tenant

# The public Synthea sample (27 patients, Apache-2.0; see its LICENSE), kept with the tests.
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "synthea-csv-sample"

Row = dict[str, str]


def sample_rows(file: str, folder: Path = SAMPLE) -> list[tuple[int, Row]]:
    """Each data row of a file with its line number (the header is line 1)."""
    with (folder / file).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return [(reader.line_num, row) for row in reader]


def copy_sample(*, into: Path) -> Path:
    folder = into / "synthea"
    shutil.copytree(SAMPLE, folder)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


def rewrite_line(folder: Path, file: str, line: int, *, column: str, value: str) -> Row:
    """Set one field of one line; returns the row as it was."""
    path = folder / file
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, before = rows[0], dict(zip(rows[0], rows[line - 1], strict=True))
    rows[line - 1][header.index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return before


def truncate_line(folder: Path, file: str, line: int, *, keep: int) -> Row:
    """Cut one line after `keep` characters, as a write interrupted mid-line leaves it."""
    path = folder / file
    lines = path.read_text(encoding="utf-8").split("\n")
    header = next(csv.reader([lines[0]]))
    before = dict(zip(header, next(csv.reader([lines[line - 1]])), strict=True))
    lines[line - 1] = lines[line - 1][:keep]
    path.write_text("\n".join(lines), encoding="utf-8")
    return before


def import_sample(*, database: Database, tenant: Tenant, folder: Path = SAMPLE) -> ImportReport:
    return import_synthea(
        database=database, tenant_id=tenant.id, tenant_label=tenant.slug, folder=folder
    )


def tenant_counts(database: Database, owner_engine: Engine, tenant_id: uuid.UUID) -> dict[str, int]:
    """Rows of every tenant-owned table as the tenant sees them, and its change log."""
    counts: dict[str, int] = {}
    with database.transaction() as session:
        bind_tenant(session, tenant_id)
        for table in Base.metadata.sorted_tables:
            if "tenant_id" in table.c and table.name != "change_log":
                counts[table.name] = (
                    session.scalar(
                        select(func.count())
                        .select_from(table)
                        .where(table.c.tenant_id == tenant_id)
                    )
                    or 0
                )
    with owner_engine.connect() as connection:
        counts["change_log"] = (
            connection.scalar(
                text("SELECT count(*) FROM change_log WHERE tenant_id = :t"), {"t": tenant_id}
            )
            or 0
        )
    return counts


def synthea_ids(database: Database, tenant_id: uuid.UUID, file: str) -> dict[str, uuid.UUID]:
    """Source key -> row id of what `file` became in the tenant."""
    with database.transaction() as session:
        bind_tenant(session, tenant_id)
        rows = session.execute(
            text(
                "SELECT source_key, target_id FROM synthea_source_keys "
                "WHERE tenant_id = :t AND file = :f AND target_id IS NOT NULL"
            ),
            {"t": tenant_id, "f": file},
        )
        return {str(key): uuid.UUID(str(target)) for key, target in rows}
