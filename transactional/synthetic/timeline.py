"""Days and instants as integers: what the vectorised simulation computes with.

Days count from 1970-01-01; instants are seconds since the epoch, UTC. Converting to polars
columns happens once, when tables are built.
"""

from datetime import date

import numpy as np
import polars as pl
from numpy.typing import NDArray

Days = NDArray[np.int64]
NEVER = np.int64(10**9)  # "no such day": after every real one
DAY = 86_400


def day_number(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def business_days(days: Days) -> Days:
    """Saturdays move to Friday, Sundays to Monday (1970-01-01 was a Thursday)."""
    weekday = (days + 3) % 7  # Monday 0 ... Sunday 6
    shifted: Days = days - (weekday == 5) + (weekday == 6)
    return shifted


def uniform_days(rng: np.random.Generator, start: Days, end: Days) -> Days:
    """A day drawn uniformly in [start, end) for each pair (end > start)."""
    span = np.maximum(end - start, 1)
    drawn: Days = start + (rng.random(len(start)) * span).astype(np.int64)
    return drawn


def as_dates(days: NDArray[np.int64]) -> pl.Series:
    return pl.Series(days.astype(np.int32)).cast(pl.Date)


def as_instants(seconds: NDArray[np.int64]) -> pl.Series:
    return (pl.Series(seconds.astype(np.int64)) * 1_000_000).cast(pl.Datetime("us", "UTC"))
