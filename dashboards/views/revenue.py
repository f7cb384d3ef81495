"""Revenue: A/R and its aging, denials by payer and reason, collections, payer mix, charge
lag and revenue trends by month, department and provider."""

import plotly.express as px
import polars as pl
import streamlit as st

from dashboards import ui
from dashboards.data import rows
from dashboards.suppression import summed


def _kpis(summary: pl.DataFrame) -> None:
    kpi = summary.row(0, named=True)
    cells = st.columns(6)
    cells[0].metric("A/R", ui.money(kpi["ar_balance_cents"]))
    cells[1].metric("Days in A/R", ui.number(kpi["days_in_ar"]))
    cells[2].metric("Gross collection rate", ui.percent(kpi["gross_collection_rate"]))
    cells[3].metric("Net collection rate", ui.percent(kpi["net_collection_rate"]))
    cells[4].metric("Denial rate", ui.percent(kpi["denial_rate"]))
    cells[5].metric("Charge lag", ui.number(kpi["average_charge_lag_days"], " days"))
    st.caption(f"Twelve months ending {kpi['period_end']} (as of {kpi['as_of_date']}).")


def _revenue(revenue: pl.DataFrame, period: ui.DateRange | None) -> None:
    st.subheader("Revenue by month")
    department = ui.choice("Department", revenue["department_name"], key="rev_department")
    provider = ui.choice("Provider", revenue["rendering_practitioner_name"], key="rev_provider")
    chosen = revenue
    if period is not None:
        chosen = chosen.filter(period.months("service_month"))
    if department is not None:
        chosen = chosen.filter(pl.col("department_name") == department)
    if provider is not None:
        chosen = chosen.filter(pl.col("rendering_practitioner_name") == provider)
    counts = ["charge_line_count", "encounter_count"]
    total = summed(chosen, by=[], counts=counts, amounts=["gross_charges_cents"]).row(0, named=True)
    cells = st.columns(3)
    cells[0].metric("Gross charges", ui.money(total["gross_charges_cents"]))
    cells[1].metric("Encounters", ui.count(total["encounter_count"]))
    cells[2].metric("Charge lines", ui.count(total["charge_line_count"]))
    if total["is_suppressed"]:
        st.caption("Partial totals: withheld cells (small counts) are left out.")
    monthly = summed(
        chosen.sort("service_month"),
        by=["service_month"],
        counts=counts,
        amounts=["gross_charges_cents"],
    ).with_columns((pl.col("gross_charges_cents") / 100).alias("gross charges ($)"))
    if monthly.is_empty():
        ui.empty("revenue for these filters")
        return
    st.plotly_chart(
        px.bar(monthly.to_pandas(), x="service_month", y="gross charges ($)"),
        key="revenue_by_month",
    )


def _collections(collections: pl.DataFrame, period: ui.DateRange | None) -> None:
    st.subheader("Collections by month of service")
    if period is not None:
        collections = collections.filter(period.months("service_month"))
    if collections.is_empty():
        ui.empty("collections in this date range")
        return
    shown = collections.sort("service_month").select(
        "service_month",
        (pl.col("charges_cents") / 100).alias("charges"),
        (pl.col("payments_cents") / 100).alias("payments"),
        (pl.col("contractual_adjustments_cents") / 100).alias("contractual adjustments"),
    )
    long = shown.unpivot(index="service_month", variable_name="figure", value_name="dollars")
    st.plotly_chart(
        px.line(long.to_pandas(), x="service_month", y="dollars", color="figure", markers=True),
        key="collections_by_month",
    )
    ui.note_partial(collections)


def _aging(aging: pl.DataFrame, payer: str | None) -> None:
    st.subheader("A/R aging")
    scope = aging.filter(
        (pl.col("payer_scope") == "payer") & (pl.col("payer_name") == payer)
        if payer
        else pl.col("payer_scope") == "all"
    )
    if scope.is_empty():
        ui.empty("open accounts")
        return
    chart = scope.sort("bucket_order").with_columns(
        (pl.col("ar_balance_cents") / 100).alias("A/R ($)")
    )
    st.plotly_chart(
        px.bar(chart.to_pandas(), x="aging_bucket", y="A/R ($)", hover_data=["open_invoice_count"]),
        key="ar_aging",
    )
    ui.note_partial(scope)


def _denials(by_payer: pl.DataFrame, by_reason: pl.DataFrame, payer: str | None) -> None:
    st.subheader("Denials")
    if payer is not None:
        by_payer = by_payer.filter(pl.col("payer_name") == payer)
        by_reason = by_reason.filter(pl.col("payer_name") == payer)
    left, right = st.columns(2)
    if by_payer.is_empty():
        with left:
            ui.empty("claims")
    else:
        left.plotly_chart(
            px.bar(
                by_payer.sort("payer_name").to_pandas(),
                x="payer_name",
                y="denial_rate",
                hover_data=["submitted_claims", "denied_claims"],
                title="Denial rate by payer",
            ),
            key="denials_by_payer",
        )
    if by_reason.is_empty():
        with right:
            ui.empty("denials")
    else:
        reasons = summed(
            by_reason, by=["denial_group_code", "denial_reason_code"], counts=["denied_claims"]
        ).with_columns(
            (pl.col("denial_group_code") + "-" + pl.col("denial_reason_code")).alias("reason")
        )
        right.plotly_chart(
            px.bar(
                reasons.sort("denied_claims", nulls_last=True).to_pandas(),
                x="denied_claims",
                y="reason",
                orientation="h",
                title="Denied claims by reason (CARC)",
            ),
            key="denials_by_reason",
        )
    ui.note_partial(by_reason)


def _payer_mix(mix: pl.DataFrame, payer: str | None) -> None:
    st.subheader("Payer mix")
    if mix.is_empty():
        ui.empty("accounts")
        return
    st.plotly_chart(
        px.pie(mix.to_pandas(), names="payer_name", values="charge_share", title="Charge share"),
        key="payer_mix",
    )
    table = mix.filter(pl.col("payer_name") == payer) if payer else mix
    st.dataframe(
        table.select(
            "payer_name", "payer_type", "invoice_count", "encounter_share", "charge_share"
        ).to_pandas(),
        hide_index=True,
    )


def render() -> None:
    opened = ui.page("Revenue")
    if opened is None:
        return
    _, snapshot = opened
    summary = snapshot.table("rev_kpi_summary")
    revenue = snapshot.table("rev_revenue_monthly")
    if not rows(summary) and not rows(revenue):
        ui.empty("revenue (no charges or claims)")
        return
    months = revenue["service_month"] if revenue is not None else pl.Series([], dtype=pl.Date)
    period = ui.date_range(months, key="rev_period")
    aging = snapshot.table("rev_ar_aging")
    payers = (
        aging.filter(pl.col("payer_scope") == "payer")["payer_name"]
        if aging is not None
        else pl.Series([], dtype=pl.String)
    )
    payer = ui.choice("Payer", payers, key="rev_payer")
    if summary is not None and rows(summary):
        _kpis(summary)
    if revenue is not None:
        _revenue(revenue, period)
    collections = snapshot.table("rev_collections_monthly")
    if collections is not None:
        _collections(collections, period)
    if aging is not None:
        _aging(aging, payer)
    by_payer, by_reason = (
        snapshot.table("rev_denials_by_payer"),
        snapshot.table("rev_denials_by_reason"),
    )
    if by_payer is not None and by_reason is not None:
        _denials(by_payer, by_reason, payer)
    mix = snapshot.table("rev_payer_mix")
    if mix is not None:
        _payer_mix(mix, payer)


render()
