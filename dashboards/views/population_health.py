"""Population health: utilization and readmissions, condition prevalence, risk tiers,
quality measures and care gaps (patient lists only for roles allowed patient-level data)."""

import plotly.express as px
import polars as pl
import streamlit as st

from dashboards import ui
from dashboards.auth import Viewer, audit_phi_view
from dashboards.context import context
from dashboards.data import Snapshot, rows
from transactional.identity.roles import Permission

CARE_GAP_COLUMNS = (
    "mrn",
    "gap_description",
    "evidence_date",
    "evidence_code_system",
    "evidence_code",
    "evidence_value",
    "evidence_unit",
)


def _utilization(snapshot: Snapshot) -> None:
    summary = snapshot.table("ph_utilization_summary")
    if summary is not None and rows(summary):
        kpi = summary.row(0, named=True)
        cells = st.columns(5)
        cells[0].metric("Members", ui.count(kpi["members"]))
        cells[1].metric("ED visits per 1,000", ui.number(kpi["ed_visits_per_1000"]))
        cells[2].metric("Admissions per 1,000", ui.number(kpi["admissions_per_1000"]))
        cells[3].metric("30-day readmission rate", ui.percent(kpi["readmission_rate"]))
        cells[4].metric("PMPM charges", ui.money(kpi["pmpm_charges_cents"]))
    monthly = snapshot.table("ph_utilization_monthly")
    if monthly is None or monthly.is_empty():
        ui.empty("member months")
        return
    period = ui.date_range(monthly["month_start"], key="ph_period")
    if period is not None:
        monthly = monthly.filter(period.months("month_start"))
    st.subheader("Utilization by month")
    long = (
        monthly.sort("month_start")
        .select(
            "month_start",
            pl.col("ed_visits_per_1000").alias("ED visits per 1,000"),
            pl.col("admissions_per_1000").alias("admissions per 1,000"),
        )
        .unpivot(index="month_start", variable_name="measure", value_name="per 1,000 members")
    )
    st.plotly_chart(
        px.line(
            long.to_pandas(), x="month_start", y="per 1,000 members", color="measure", markers=True
        ),
        key="utilization_by_month",
    )
    readmissions = monthly.filter(pl.col("index_stays").is_not_null()).sort("month_start")
    if not readmissions.is_empty():
        st.plotly_chart(
            px.bar(
                readmissions.to_pandas(),
                x="month_start",
                y="readmission_rate",
                hover_data=["index_stays", "readmissions"],
                title="30-day readmission rate by discharge month",
            ),
            key="readmissions_by_month",
        )
    ui.note_partial(monthly)


def _prevalence(snapshot: Snapshot) -> None:
    st.subheader("Chronic conditions")
    prevalence = snapshot.table("ph_condition_prevalence")
    if prevalence is None or prevalence.is_empty():
        ui.empty("condition registry")
        return
    dimensions = sorted(prevalence["dimension"].unique().to_list())
    dimension = st.selectbox(
        "Prevalence by",
        dimensions,
        index=dimensions.index("overall") if "overall" in dimensions else 0,
        key="ph_dimension",
    )
    shown = prevalence.filter(pl.col("dimension") == dimension).sort("condition")
    figure = (
        px.bar(shown.to_pandas(), x="condition", y="prevalence")
        if dimension == "overall"
        else px.bar(
            shown.to_pandas(),
            x="condition",
            y="prevalence",
            color="dimension_value",
            barmode="group",
        )
    )
    st.plotly_chart(figure, key="prevalence")
    ui.note_partial(shown)


def _risk_tiers(snapshot: Snapshot) -> None:
    st.subheader("Risk tiers")
    tiers = snapshot.table("ph_risk_tier_summary")
    if tiers is None or tiers.is_empty():
        ui.empty("risk tiers")
        return
    st.plotly_chart(
        px.bar(
            tiers.sort("tier_order").to_pandas(),
            x="risk_tier",
            y="patient_count",
            hover_data=["patient_share"],
        ),
        key="risk_tiers",
    )


def _care_gaps(snapshot: Snapshot, viewer: Viewer) -> None:
    st.subheader("Quality measures and care gaps")
    rates = snapshot.table("qm_measure_rates")
    if rates is None or rates.is_empty():
        ui.empty("quality measures")
        return
    st.dataframe(
        rates.select(
            "measure_id",
            "period_end",
            "denominator",
            "numerator",
            "care_gaps",
            "performance_rate",
            "care_gap_rate",
        ).to_pandas(),
        hide_index=True,
        key="measure_rates",
    )
    ui.note_partial(rates)
    if not viewer.may(Permission.ANALYTICS_PHI_READ):
        st.info(
            "Patient lists of care gaps are shown to roles allowed patient-level data "
            "(analytics.phi.read); yours sees the counts above."
        )
        return
    gaps = snapshot.table("qm_care_gaps")
    if gaps is None or gaps.is_empty():
        ui.empty("open care gaps")
        return
    measure = st.selectbox(
        "Care-gap worklist for", sorted(gaps["measure_id"].unique().to_list()), key="gap_measure"
    )
    listed = gaps.filter(pl.col("measure_id") == measure).select(CARE_GAP_COLUMNS).sort("mrn")
    # One audit event per list a session is shown (reruns redraw it without a new read).
    seen = st.session_state.setdefault("emr.audited_lists", set())
    if (snapshot.folder.name, measure) not in seen:
        audit_phi_view(context(), viewer, what="care_gap_list", rows=listed.height)
        seen.add((snapshot.folder.name, measure))
    st.dataframe(listed.to_pandas(), hide_index=True, key="care_gap_list")


def render() -> None:
    opened = ui.page("Population health")
    if opened is None:
        return
    viewer, snapshot = opened
    _utilization(snapshot)
    _prevalence(snapshot)
    _risk_tiers(snapshot)
    _care_gaps(snapshot, viewer)


render()
