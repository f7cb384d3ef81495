"""HIPAA Safe Harbor transformations of extract columns (45 CFR 164.514(b)(2)).

- Record identifiers become keyed pseudonyms: HMAC-SHA256 under the extract key of
  (entity, tenant, id). The same patient gets the same pseudonym in every extract made with
  the same key, and nobody without the key can link a pseudonym back or recompute it.
- Dates move by a per-patient offset of 1 to 365 days either way, derived from the same key:
  intervals within a patient are exact, calendar dates are not real. Or they become years.
- Ages of 90 and over are one group, "90+", and such patients' birth years are withheld.
- ZIP codes keep their first three digits, "000" for the HHS list of three-digit areas of
  20,000 people or fewer (data/restricted_zip3.csv).
"""

import csv
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

import polars as pl

DateMode = Literal["shift", "year"]
OLDEST_AGE = 90
MAX_SHIFT_DAYS = 365
_DATA = Path(__file__).with_name("data")


@cache
def restricted_zip3() -> frozenset[str]:
    with (_DATA / "restricted_zip3.csv").open(newline="") as handle:
        return frozenset(row["zip3"] for row in csv.DictReader(handle))


def zip3(postal_code: str | None) -> str | None:
    """First three digits of a US ZIP code, "000" in a restricted area, None if not a ZIP."""
    if postal_code is None or len(postal_code) < 5 or not postal_code[:5].isdigit():
        return None
    prefix = postal_code[:3]
    return "000" if prefix in restricted_zip3() else prefix


def age_in_years(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_label(age: int | None) -> str | None:
    if age is None:
        return None
    return f"{OLDEST_AGE}+" if age >= OLDEST_AGE else str(age)


@dataclass(frozen=True)
class Deidentifier:
    key: bytes
    tenant_id: uuid.UUID
    dates: DateMode = "shift"

    def _digest(self, *parts: str) -> bytes:
        message = "\x1f".join((str(self.tenant_id), *parts)).encode()
        return hmac.new(self.key, message, hashlib.sha256).digest()

    def pseudonym(self, entity: str, value: str) -> str:
        return self._digest("id", entity, value.lower()).hex()[:24]

    def shift_days(self, patient_id: str) -> int:
        """A non-zero offset in [-365, 365], fixed for a patient under one key."""
        draw = int.from_bytes(self._digest("date-shift", patient_id.lower())[:8], "big")
        offset = draw % (2 * MAX_SHIFT_DAYS) - MAX_SHIFT_DAYS
        return offset + 1 if offset >= 0 else offset

    def pseudonyms(self, values: pl.Series, entity: str) -> pl.Series:
        """`values` (ids as text) replaced by their pseudonyms, nulls kept."""
        text = values.cast(pl.String)
        mapping = {v: self.pseudonym(entity, v) for v in text.drop_nulls().unique().to_list()}
        return text.replace_strict(mapping, default=None, return_dtype=pl.String)

    def shifts(self, patient_ids: pl.Series) -> pl.Series:
        """Each row's patient's offset in days."""
        text = patient_ids.cast(pl.String)
        mapping = {v: self.shift_days(v) for v in text.drop_nulls().unique().to_list()}
        return text.replace_strict(mapping, default=None, return_dtype=pl.Int32)

    def moved(self, column: str, shift: str) -> pl.Expr:
        """A date or timestamp column shifted by the offset column `shift`, or its year."""
        if self.dates == "year":
            return pl.col(column).dt.year().cast(pl.Int16)
        return pl.col(column) + pl.duration(days=pl.col(shift))


def zip3_expression(column: str) -> pl.Expr:
    prefix = pl.col(column).str.extract(r"^(\d{3})\d{2}", 1)
    return pl.when(prefix.is_in(sorted(restricted_zip3()))).then(pl.lit("000")).otherwise(prefix)


def age_expression(birth: pl.Expr, on: pl.Expr) -> pl.Expr:
    """Whole years from the dates `birth` to `on` (one less before the birthday)."""

    def month_day(value: pl.Expr) -> pl.Expr:
        return value.dt.month().cast(pl.Int32) * 100 + value.dt.day().cast(pl.Int32)

    before_birthday = (month_day(on) < month_day(birth)).cast(pl.Int32)
    years = on.dt.year().cast(pl.Int32) - birth.dt.year().cast(pl.Int32)
    return years - before_birthday


def age_label_expression(age: pl.Expr) -> pl.Expr:
    return pl.when(age >= OLDEST_AGE).then(pl.lit(f"{OLDEST_AGE}+")).otherwise(age.cast(pl.String))
