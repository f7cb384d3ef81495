"""Reading Synthea CSV files into rows with their line numbers, and parsing their fields.

Every parser raises `RowError` with a message that names the column and never repeats the
value: a date or a name of a patient must not reach a log or a terminal. Codes may be shown.
"""

import csv
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from transactional.billing.money import MAX_AMOUNT_CENTS
from transactional.errors import DomainError
from transactional.terminology.catalog import Concept, validate


class RowError(Exception):
    """Why a source row cannot be imported; `str()` is safe to print (no PHI)."""


@dataclass(frozen=True)
class SourceRow:
    line: int
    fields: dict[str, str]

    def text(self, column: str) -> str:
        return self.fields.get(column, "").strip()

    def optional(self, column: str) -> str | None:
        return self.text(column) or None

    def required(self, column: str) -> str:
        value = self.text(column)
        if not value:
            raise RowError(f"{column} is empty")
        return value


@dataclass
class SourceFile:
    """The rows of one file that could be read, and the lines that could not."""

    name: str
    rows: list[SourceRow] = field(default_factory=list)
    unreadable: list[tuple[int, str]] = field(default_factory=list)

    @property
    def read(self) -> int:
        return len(self.rows) + len(self.unreadable)


def read_file(path: Path, required: Sequence[str]) -> SourceFile:
    """Each data line as a row; a line with too few or too many fields is unreadable."""
    found = SourceFile(path.name)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return found
        columns = [name.strip() for name in header]
        missing = [name for name in required if name not in columns]
        while True:
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error:
                found.unreadable.append((reader.line_num, "is not valid CSV"))
                continue
            line = reader.line_num
            if not values:
                continue
            if missing:
                found.unreadable.append((line, f"the header has no column {missing[0]}"))
            elif len(values) != len(columns):
                found.unreadable.append(
                    (line, f"has {len(values)} fields where the header has {len(columns)}")
                )
            else:
                found.rows.append(SourceRow(line, dict(zip(columns, values, strict=True))))
    return found


def parse_uuid(row: SourceRow, column: str) -> str:
    """A Synthea id, in its canonical lowercase spelling."""
    text = row.required(column)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise RowError(f"{column} is not a UUID") from None


def parse_date(row: SourceRow, column: str) -> date:
    text = row.required(column)
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(text)
    except ValueError:
        raise RowError(f"{column} is not an ISO 8601 date") from None


def optional_date(row: SourceRow, column: str) -> date | None:
    return parse_date(row, column) if row.text(column) else None


_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def parse_instant(row: SourceRow, column: str) -> datetime:
    """An ISO 8601 time; Synthea writes UTC (`Z`), and a time without a zone is read as UTC."""
    text = row.required(column)
    if not _INSTANT.match(text):
        raise RowError(f"{column} is not an ISO 8601 date and time")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RowError(f"{column} is not an ISO 8601 date and time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def optional_instant(row: SourceRow, column: str) -> datetime | None:
    return parse_instant(row, column) if row.text(column) else None


def parse_decimal(row: SourceRow, column: str) -> Decimal:
    text = row.required(column)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RowError(f"{column} is not a number") from None
    if not value.is_finite():
        raise RowError(f"{column} is not a finite number")
    return value


_MONEY = re.compile(r"^\d{1,9}(\.\d{1,2})?$")


def parse_cents(row: SourceRow, column: str) -> int:
    """Dollars with at most two decimals, as integer cents; never through a float."""
    text = row.required(column)
    if text.startswith("-"):
        raise RowError(f"{column} must not be negative")
    if not _MONEY.match(text):
        raise RowError(f"{column} is not an amount with at most two decimals")
    whole, _, fraction = text.partition(".")
    cents = int(whole) * 100 + int(fraction.ljust(2, "0") or "0")
    if cents > MAX_AMOUNT_CENTS:
        raise RowError(f"{column} is above the largest amount accepted")
    return cents


def parse_count(row: SourceRow, column: str, low: int, high: int) -> int:
    text = row.required(column)
    if not text.isdigit() or not low <= int(text) <= high:
        raise RowError(f"{column} must be a whole number from {low} to {high}")
    return int(text)


def coded(system: str, code: str, allowed: Sequence[str] | None = None) -> Concept:
    """The shipped concept, through the same validation as the API's codings."""
    try:
        return validate(system, code, allowed=allowed)
    except DomainError as error:
        raise RowError(str(error)) from None


def code_column(row: SourceRow, column: str, system: str) -> Concept:
    code = row.text(column)
    if not code:
        raise RowError(f"{column} is empty")
    return coded(system, code)


def snomed_text(concept: Concept) -> str:
    """A coded concept in SNOMED CT compositional grammar, for free-text columns."""
    return f"{concept.code} |{concept.display or ''}|"
