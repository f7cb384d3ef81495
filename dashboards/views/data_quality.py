"""Data quality: the latest outcome of every data-quality check, and how fresh replication
is. Both are warehouse-wide: only check names, outcomes and pass times are shown."""

from datetime import UTC, datetime

import plotly.express as px
import polars as pl
import streamlit as st

from dashboards import ui


def render() -> None:
    opened = ui.page("Data quality")
    if opened is None:
        return
    _, snapshot = opened
    st.subheader("Replication freshness")
    runs = snapshot.warehouse_wide("replication_runs")
    if runs is None or runs.is_empty():
        st.info("No replication pass recorded yet: run `emr pipeline run`.")
    else:
        latest = runs.sort("finished_at", descending=True).row(0, named=True)
        finished: datetime = latest["finished_at"]
        age = snapshot.published_at - finished.replace(tzinfo=finished.tzinfo or UTC)
        cells = st.columns(3)
        cells[0].metric("Last pass", f"{finished:%b %d, %H:%M} UTC")
        cells[1].metric("Before publication", f"{age.total_seconds() / 60:,.0f} min")
        lag_seconds = latest["lag_seconds"]
        cells[2].metric(
            "Commit-to-warehouse lag",
            "none (full copy)" if lag_seconds is None else f"{lag_seconds:,.1f} s",
            help="Age of the oldest change a pass applied; a full resync copies a snapshot.",
        )
        lag = runs.filter(pl.col("lag_seconds").is_not_null()).sort("finished_at")
        if not lag.is_empty():
            st.plotly_chart(
                px.line(lag.to_pandas(), x="finished_at", y="lag_seconds", markers=True),
                key="replication_lag",
            )
    st.subheader("Checks")
    checks = snapshot.warehouse_wide("check_results")
    if checks is None or checks.is_empty():
        st.info("No data-quality checks have run yet: `emr pipeline run` runs them.")
        return
    tally = checks.group_by("status").len("expectations").sort("status")
    tallied = st.columns(max(len(tally), 1))
    for cell, row in zip(tallied, tally.iter_rows(named=True), strict=False):
        cell.metric(str(row["status"]).capitalize(), f"{row['expectations']:,}")
    by_asset = (
        checks.group_by("asset", "status").len("expectations").sort("asset", "status").to_pandas()
    )
    st.plotly_chart(
        px.bar(
            by_asset,
            y="asset",
            x="expectations",
            color="status",
            orientation="h",
            color_discrete_map={"passed": "#2e7d32", "failed": "#c62828"},
            labels={"asset": "", "expectations": "expectations checked"},
            height=max(300, 22 * by_asset["asset"].nunique()),
        ),
        key="checks_by_asset",
    )
    failing = checks.filter(pl.col("status") == "failed")
    if failing.is_empty():
        st.success("Every check that ran passed.")
    else:
        st.dataframe(
            failing.select("asset", "check_name", "severity", "expected", "checked_at").to_pandas(),
            hide_index=True,
            key="failing_checks",
        )
    with st.expander("All checks"):
        st.dataframe(checks.to_pandas(), hide_index=True, key="all_checks")


render()
