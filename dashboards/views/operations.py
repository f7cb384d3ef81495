"""Operations: appointments, no-show rate, in-clinic waits and provider utilization (booked
minutes of the working-hours template; schedule exceptions are not subtracted)."""

import plotly.express as px
import polars as pl
import streamlit as st

from dashboards import ui
from dashboards.suppression import ratio, summed

COUNTS = ["appointments", "completed", "no_shows", "cancelled"]


def render() -> None:
    opened = ui.page("Operations")
    if opened is None:
        return
    _, snapshot = opened
    visits = snapshot.table("ops_appointments_monthly")
    if visits is None or visits.is_empty():
        ui.empty("appointments")
        return
    period = ui.date_range(visits["month_start"], key="ops_period")
    department = ui.choice("Department", visits["department_name"], key="ops_department")
    provider = ui.choice("Provider", visits["practitioner_name"], key="ops_provider")
    if period is not None:
        visits = visits.filter(period.months("month_start"))
    if department is not None:
        visits = visits.filter(pl.col("department_name") == department)
    if provider is not None:
        visits = visits.filter(pl.col("practitioner_name") == provider)
    if visits.is_empty():
        ui.empty("appointments for these filters")
        return
    weighted = visits.with_columns(
        (pl.col("mean_wait_minutes") * pl.col("waited")).alias("wait_minutes")
    )
    total = summed(
        weighted,
        by=[],
        counts=[*COUNTS, "waited"],
        amounts=["wait_minutes", "booked_minutes", "available_minutes"],
    ).row(0, named=True)
    resolved = (total["completed"] or 0) + (total["no_shows"] or 0)
    cells = st.columns(4)
    cells[0].metric("Appointments", ui.count(total["appointments"]))
    cells[1].metric(
        "No-show rate",
        ui.percent(ratio(total["no_shows"], resolved) if total["no_shows"] is not None else None),
    )
    cells[2].metric(
        "Mean wait (check-in to start)",
        ui.number(ratio(total["wait_minutes"], total["waited"]), " min"),
    )
    cells[3].metric(
        "Utilization", ui.percent(ratio(total["booked_minutes"], total["available_minutes"]))
    )
    if total["is_suppressed"]:
        st.caption("Partial totals: withheld cells (small counts) are left out.")
    st.subheader("Appointments by month")
    monthly = (
        summed(visits.sort("month_start"), by=["month_start"], counts=COUNTS)
        .drop("appointments")
        .unpivot(
            index="month_start", on=COUNTS[1:], variable_name="outcome", value_name="appointments"
        )
    )
    st.plotly_chart(
        px.bar(monthly.to_pandas(), x="month_start", y="appointments", color="outcome"),
        key="appointments_by_month",
    )
    st.subheader("Provider utilization")
    providers = summed(
        visits,
        by=["practitioner_name"],
        counts=["appointments"],
        amounts=["booked_minutes", "available_minutes"],
    ).with_columns((pl.col("booked_minutes") / pl.col("available_minutes")).alias("utilization"))
    st.plotly_chart(
        px.bar(
            providers.sort("utilization", nulls_last=True).to_pandas(),
            x="utilization",
            y="practitioner_name",
            orientation="h",
            hover_data=["appointments"],
        ),
        key="provider_utilization",
    )
    ui.note_partial(visits)


render()
