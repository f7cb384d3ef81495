"""Models: each risk model's current version (test metrics and calibration from its card)
and, for this clinic, drift of today's scores and calibration on later outcomes."""

import json
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboards import ui

METRICS = ("units", "events", "auroc", "auprc", "brier", "calibration_slope")


def _calibration(card: dict[str, Any], monitoring: pl.DataFrame) -> go.Figure:
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line={"dash": "dot"})
    )
    curve = card["metrics"]["test"].get("calibration_curve") or []
    if curve:
        figure.add_trace(
            go.Scatter(
                x=[b["mean_predicted"] for b in curve],
                y=[b["observed_rate"] for b in curve],
                mode="lines+markers",
                name="test split (all clinics trained on)",
            )
        )
    if not monitoring.is_empty():
        later = json.loads(monitoring.sort("computed_at").row(-1, named=True)["calibration_curve"])
        if later:
            figure.add_trace(
                go.Scatter(
                    x=[b["mean_predicted"] for b in later],
                    y=[b["observed_rate"] for b in later],
                    mode="lines+markers",
                    name="this clinic, outcomes after training",
                )
            )
    figure.update_layout(xaxis_title="mean predicted risk", yaxis_title="observed rate")
    return figure


def _model(name: str, card: dict[str, Any], monitoring: pl.DataFrame) -> None:
    st.subheader(f"{card['title']} (version {card['version']})")
    st.caption(card["intended_use"])
    table = pl.DataFrame(
        [
            {"split": split, **{m: card["metrics"][split].get(m) for m in METRICS}}
            for split in ("train", "test")
        ]
    )
    st.dataframe(table.to_pandas(), hide_index=True, key=f"metrics_{name}")
    st.plotly_chart(_calibration(card, monitoring), key=f"calibration_{name}")
    if monitoring.is_empty():
        st.info("Not monitored for this clinic yet (the scoring run monitors after scoring).")
        return
    latest = monitoring.sort("computed_at").row(-1, named=True)
    cells = st.columns(3)
    cells[0].metric("Score drift (PSI)", ui.number(latest["psi"], digits=3))
    cells[1].metric("Drift", latest["drift"] or ui.WITHHELD)
    cells[2].metric("AUROC on later outcomes", ui.number(latest["auroc"], digits=3))
    drift = monitoring.filter(pl.col("psi").is_not_null()).sort("computed_at")
    if not drift.is_empty():
        figure = go.Figure(go.Scatter(x=drift["computed_at"], y=drift["psi"], mode="lines+markers"))
        figure.add_hline(y=0.1, line_dash="dot", annotation_text="moderate")
        figure.add_hline(y=0.25, line_dash="dot", annotation_text="large")
        figure.update_layout(yaxis_title="PSI")
        st.plotly_chart(figure, key=f"drift_{name}")


def render() -> None:
    opened = ui.page("Models")
    if opened is None:
        return
    _, snapshot = opened
    cards = snapshot.model_cards()
    if not cards:
        st.info(
            "No risk model has been trained on this clinic's data yet: "
            "`emr pipeline` job `risk_training` trains them."
        )
        return
    monitoring = snapshot.table("model_monitoring")
    for name, card in cards.items():
        rows = (
            monitoring.filter(pl.col("model") == name)
            if monitoring is not None
            else pl.DataFrame(schema={"model": pl.String})
        )
        _model(name, card, rows)


render()
