"""Writing validated source rows in batches, with their source keys, all or nothing per row.

A batch is one INSERT per table (executemany) inside a savepoint, which is what makes a
sample import take seconds. Rows were validated in Python first, so the database refusing a
batch is rare; when it does, the batch is retried one source row at a time, each in a
savepoint of its own: the row the database refuses is reported, the others are written, and
a row that needs a refused one is reported as failing because of it.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from transactional.base import utcnow
from transactional.synthea.models import SourceKey
from transactional.synthea.report import ImportReport

KEYS: Table = SourceKey.__table__  # type: ignore[assignment]


@dataclass(eq=False)
class Unit:
    """What one source row becomes: rows to insert (in dependency order) and its key.

    `target` is the row recorded against the key; `needs` are units of the same batch this
    one cannot exist without; `undo` forgets what validating it registered for later rows.
    """

    file: str
    line: int
    key: str
    target: tuple[Table, uuid.UUID] | None
    rows: list[tuple[Table, dict[str, Any]]] = field(default_factory=list)
    needs: list["Unit"] = field(default_factory=list)
    undo: Callable[[], object] | None = None

    def add(self, table: Table, row: dict[str, Any]) -> None:
        self.rows.append((table, row))


def _key_row(tenant_id: uuid.UUID, unit: Unit, now: Any) -> dict[str, Any]:
    table, target_id = unit.target if unit.target is not None else (None, None)
    return {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "file": unit.file,
        "source_key": unit.key,
        "target_table": table.name if table is not None else None,
        "target_id": target_id,
        "imported_at": now,
    }


def _insert(
    session: Session, tenant_id: uuid.UUID, units: Sequence[Unit], order: Sequence[Table]
) -> None:
    unknown = {table.name for unit in units for (table, _) in unit.rows} - {t.name for t in order}
    if unknown:
        raise ValueError(f"tables missing from the write order: {sorted(unknown)}")
    now = utcnow()
    for table in order:
        rows = [row for unit in units for (target, row) in unit.rows if target is table]
        if rows:
            session.execute(insert(table), rows)
    session.execute(insert(KEYS), [_key_row(tenant_id, unit, now) for unit in units])


def _refusal(error: DBAPIError) -> str:
    """The constraint or SQLSTATE only: the driver's message may quote the row's values."""
    diagnostics = getattr(error.orig, "diag", None)
    constraint = getattr(diagnostics, "constraint_name", None)
    state = getattr(error.orig, "sqlstate", None)
    return f"the database refused it ({constraint or state or 'error'})"


def write_units(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    units: Sequence[Unit],
    order: Sequence[Table],
    report: ImportReport,
    failed: dict[tuple[str, str], int],
) -> None:
    """Insert every unit, or every unit the database accepts, and count them as imported.

    A unit the database refuses is reported and entered in `failed` (file, key) -> line.
    """
    if not units:
        return
    try:
        with session.begin_nested():
            _insert(session, tenant_id, units, order)
    except DBAPIError:
        _one_by_one(session, tenant_id, units, order, report, failed)
        return
    for unit in units:
        report.file(unit.file).imported += 1


def _one_by_one(
    session: Session,
    tenant_id: uuid.UUID,
    units: Sequence[Unit],
    order: Sequence[Table],
    report: ImportReport,
    failed_keys: dict[tuple[str, str], int],
) -> None:
    failed: set[int] = set()
    for unit in units:
        blocker = next((need for need in unit.needs if id(need) in failed), None)
        reason = None
        if blocker is not None:
            reason = f"{blocker.file}:{blocker.line}, which it depends on, failed"
        else:
            try:
                with session.begin_nested():
                    _insert(session, tenant_id, [unit], order)
            except DBAPIError as error:
                reason = _refusal(error)
        if reason is None:
            report.file(unit.file).imported += 1
            continue
        failed.add(id(unit))
        failed_keys[(unit.file, unit.key)] = unit.line
        report.fail(unit.file, unit.line, reason)
        if unit.undo is not None:
            unit.undo()
