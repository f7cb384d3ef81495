"""Cohorts: choose a cohort (or define one), see its attrition and characterization, compare
two cohorts, and download a de-identified extract."""

import plotly.express as px
import polars as pl
import streamlit as st

from dashboards import ui
from dashboards.auth import Viewer
from dashboards.cohorts import CohortActionFailed, build, extract_bytes, parse_typed
from dashboards.context import context
from dashboards.data import Snapshot
from warehouse.cohorts.definition import CohortDefinition
from warehouse.cohorts.loader import shipped_definitions

DEFINED = "emr.defined_cohort"
EXAMPLE = """name: my_cohort
title: Type 2 diabetes at 40 or older
description: Patients first diagnosed with type 2 diabetes at 40 or older.
version: "1.0"
entry:
  kind: diagnosis
  value_set: type_2_diabetes
  occurrence: first
inclusion:
  - name: aged 40 or older
    kind: demographics
    age: {min: 40}
"""


def _published(snapshot: Snapshot) -> tuple[pl.DataFrame, pl.DataFrame]:
    attrition = snapshot.table("cohort_attrition")
    items = snapshot.table("cohort_characterization")
    if attrition is None or items is None:
        return pl.DataFrame(), pl.DataFrame()
    return attrition, items


def _characterization(items: pl.DataFrame, *, key: str) -> None:
    demographics = items.filter(pl.col("section").is_in(["age_band", "sex"]))
    if not demographics.is_empty():
        st.plotly_chart(
            px.bar(
                demographics.to_pandas(),
                x="item",
                y="numerator",
                facet_col="section",
                labels={"numerator": "patients"},
            ).update_xaxes(matches=None),
            key=f"demographics_{key}",
        )
    st.dataframe(
        items.select(
            "section", "item", "label", "numerator", "denominator", "proportion", "median"
        ).to_pandas(),
        hide_index=True,
        key=f"characterization_{key}",
    )


def _define(viewer: Viewer) -> None:
    with st.expander("Define a cohort"):
        text = st.text_area("Definition (YAML)", value=EXAMPLE, height=260, key="cohort_yaml")
        if st.button("Build this cohort", key="cohort_build"):
            try:
                definition = parse_typed(text)
                attrition, items = build(context(), viewer, definition)
            except CohortActionFailed as exc:
                st.error(str(exc))
                return
            st.session_state[DEFINED] = (definition, attrition, items)
            st.success(f"Built {definition.name}.")


def _download(viewer: Viewer, definition: CohortDefinition) -> None:
    if st.button("Prepare a de-identified extract", key="cohort_extract"):
        try:
            data = extract_bytes(context(), viewer, definition)
        except CohortActionFailed as exc:
            st.error(str(exc))
            return
        st.download_button(
            "Download (DuckDB)",
            data=data,
            file_name=f"{definition.name}.duckdb",
            mime="application/octet-stream",
            key="cohort_download",
        )


def render() -> None:
    opened = ui.page("Cohorts")
    if opened is None:
        return
    viewer, snapshot = opened
    attrition, items = _published(snapshot)
    _define(viewer)
    results: dict[str, tuple[pl.DataFrame, pl.DataFrame]] = {}
    definitions = shipped_definitions()
    for name in sorted(attrition["cohort"].unique().to_list()) if not attrition.is_empty() else []:
        results[name] = (
            attrition.filter(pl.col("cohort") == name).sort("rule_order"),
            items.filter(pl.col("cohort") == name).sort("section", "item_order"),
        )
    defined = st.session_state.get(DEFINED)
    if defined is not None:
        definitions[defined[0].name] = defined[0]
        results[defined[0].name] = (defined[1], defined[2])
    if not results:
        ui.empty("cohorts (the pipeline builds the shipped ones)")
        return
    names = sorted(results)
    chosen = st.selectbox("Cohort", names, key="cohort_choice")
    compare = st.selectbox("Compare with", ["(none)", *names], key="cohort_compare")
    steps, chosen_items = results[chosen]
    if chosen in definitions:
        st.caption(definitions[chosen].description)
    st.subheader("Attrition")
    st.dataframe(
        steps.select(
            "rule_type", "rule_name", "patients_before", "patients_removed", "patients_remaining"
        ).to_pandas(),
        hide_index=True,
        key="attrition",
    )
    funnel = steps.with_columns(
        step=pl.format(
            "{}. {}", pl.col("rule_order"), pl.col("rule_name").fill_null(pl.col("rule_type"))
        )
    )
    st.plotly_chart(
        px.funnel(
            funnel.to_pandas(),
            x="patients_remaining",
            y="step",
            labels={"patients_remaining": "patients remaining", "step": ""},
        ),
        key="attrition_funnel",
    )
    if steps["patients_remaining"].null_count():
        st.caption("Steps with 1 to 10 patients are withheld and drawn empty.")
    if compare == "(none)" or compare == chosen:
        st.subheader("Characterization")
        _characterization(chosen_items, key="chosen")
    else:
        st.subheader(f"{chosen} compared with {compare}")
        other = results[compare][1]
        both = pl.concat(
            [
                chosen_items.select("section", "item", "proportion").with_columns(
                    pl.lit(chosen).alias("cohort")
                ),
                other.select("section", "item", "proportion").with_columns(
                    pl.lit(compare).alias("cohort")
                ),
            ]
        ).filter(pl.col("section").is_in(["age_band", "sex", "outcome"]))
        st.plotly_chart(
            px.bar(both.to_pandas(), x="item", y="proportion", color="cohort", barmode="group"),
            key="cohort_comparison",
        )
        joined = chosen_items.select("section", "item", "proportion").join(
            other.select("section", "item", "proportion"),
            on=["section", "item"],
            how="full",
            suffix=f" ({compare})",
            coalesce=True,
        )
        st.dataframe(joined.to_pandas(), hide_index=True, key="comparison_table")
    if chosen in definitions:
        _download(viewer, definitions[chosen])


render()
