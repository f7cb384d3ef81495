"""What every page shares: the snapshot of the signed-in tenant, filters, figures, empty
states. Pages stay thin: read frames here, draw them there."""

from dataclasses import dataclass
from datetime import date

import polars as pl
import streamlit as st

from dashboards.auth import Viewer, current_viewer
from dashboards.context import context
from dashboards.data import NOT_PUBLISHED, Snapshot
from dashboards.suppression import SUPPRESSED_NOTE

WITHHELD = "withheld"


def page(title: str) -> tuple[Viewer, Snapshot] | None:
    """The page's header; the viewer and snapshot, or None after explaining the empty state."""
    st.title(title)
    viewer = current_viewer()
    if viewer is None:  # app.py signs in before any page runs
        st.info("Sign in to see the dashboards.")
        return None
    snapshot = Snapshot.current(context().snapshot_root, viewer.tenant_id)
    if snapshot is None:
        st.info(NOT_PUBLISHED)
        return None
    st.caption(f"Data published {snapshot.published_at:%Y-%m-%d %H:%M} UTC. {SUPPRESSED_NOTE}")
    return viewer, snapshot


def empty(what: str) -> None:
    st.info(f"No {what} yet for this clinic in the published data.")


def money(cents: float | int | None) -> str:
    return WITHHELD if cents is None else f"${cents / 100:,.0f}"


def count(value: float | int | None) -> str:
    return WITHHELD if value is None else f"{value:,.0f}"


def percent(value: float | None) -> str:
    return WITHHELD if value is None else f"{value:.1%}"


def number(value: float | None, unit: str = "", digits: int = 1) -> str:
    return WITHHELD if value is None else f"{value:,.{digits}f}{unit}"


def partial(frame: pl.DataFrame) -> bool:
    return "is_suppressed" in frame.columns and bool(frame["is_suppressed"].fill_null(True).any())


def note_partial(frame: pl.DataFrame) -> None:
    if partial(frame):
        st.caption("Some cells here are withheld (small counts); totals leave them out.")


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date

    def months(self, column: str) -> pl.Expr:
        return pl.col(column).is_between(self.start.replace(day=1), self.end)


def date_range(months: pl.Series, *, key: str) -> DateRange | None:
    """A sidebar date range over the months present (default: the last twelve)."""
    present = months.drop_nulls().cast(pl.Date)
    if present.is_empty():
        return None
    first, last = present.min(), present.max()
    assert isinstance(first, date) and isinstance(last, date)
    default_start = max(first, date(last.year - 1, last.month, 1))
    chosen = st.sidebar.date_input(
        "Months from / to",
        value=(default_start, last),
        min_value=first,
        max_value=last,
        key=key,
    )
    if isinstance(chosen, tuple) and len(chosen) == 2:
        return DateRange(chosen[0], chosen[1])
    return DateRange(default_start, last)


def choice(label: str, options: pl.Series, *, key: str) -> str | None:
    """A sidebar filter over the values present; None means all."""
    values = sorted(str(v) for v in options.drop_nulls().unique().to_list())
    picked = st.sidebar.selectbox(label, ["All", *values], key=key)
    return None if picked == "All" else str(picked)
