"""One file's import: each source row becomes a unit to write, or is counted as already
present, skipped or failed."""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Table
from sqlalchemy.orm import Session

from transactional.secrets import Secrets
from transactional.synthea.report import FileReport, ImportReport
from transactional.synthea.source import RowError, SourceRow
from transactional.synthea.state import State
from transactional.synthea.writer import Unit

CLOCK_SKEW = timedelta(minutes=5)
MAX_KEY = 200


@dataclass
class Batch:
    session: Session
    state: State
    report: ImportReport
    file: str
    now: datetime
    secrets: Secrets | None = None
    units: list[Unit] = field(default_factory=list)

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.state.tenant_id

    @property
    def summary(self) -> FileReport:
        return self.report.file(self.file)

    def unit(
        self,
        row: SourceRow,
        key: str,
        target: tuple[Table, uuid.UUID] | None,
        *,
        undo: Callable[[], object] | None = None,
    ) -> Unit:
        unit = Unit(self.file, row.line, key, target, undo=undo)
        self.units.append(unit)
        return unit

    def not_future(self, when: datetime, column: str) -> datetime:
        if when > self.now + CLOCK_SKEW:
            raise RowError(f"{column} is in the future")
        return when


def each(
    batch: Batch,
    rows: Iterable[SourceRow],
    key_of: Callable[[SourceRow], str],
    handle: Callable[[SourceRow, str], None],
    present: Callable[[SourceRow, str], None] | None = None,
) -> None:
    """Run `handle` on every row not already present (`present` on those that are); a
    `RowError` fails only its row.

    The key of a failed row is remembered, so that rows referring to it say it failed.
    """
    seen: dict[str, int] = {}
    for row in rows:
        key = None
        try:
            key = key_of(row)
            if len(key) > MAX_KEY:
                raise RowError("its identifying columns are too long")
            if key in seen:
                raise RowError(f"repeats the row of line {seen[key]}")
            seen[key] = row.line
            if batch.state.present(batch.file, key):
                batch.summary.present += 1
                if present is not None:
                    present(row, key)
                continue
            handle(row, key)
        except RowError as error:
            batch.report.fail(batch.file, row.line, str(error))
            if key is not None:
                batch.state.failed[(batch.file, key)] = row.line


def key_of(*columns: str) -> Callable[[SourceRow], str]:
    """The source key of a row without an id of its own: its identifying columns."""

    def key(row: SourceRow) -> str:
        return "|".join(row.text(column) for column in columns)

    return key
