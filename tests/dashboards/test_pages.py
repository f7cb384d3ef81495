"""Every page, as a signed-in user would see it (streamlit.testing AppTest)."""

import polars as pl
import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from tests.dashboards.conftest import APP, DashboardWorld, signed_in
from transactional.identity.roles import Role

PAGES = {
    "views/revenue.py": "Revenue",
    "views/population_health.py": "Population health",
    "views/cohorts.py": "Cohorts",
    "views/operations.py": "Operations",
    "views/data_quality.py": "Data quality",
    "views/models.py": "Models",
}


def _open(app: AppTest, page: str) -> AppTest:
    app.switch_page(page)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_a_page_needs_sign_in_first(dashboard_env: DashboardWorld) -> None:
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.run()
    assert not app.exception
    assert [t.value for t in app.title] == ["EMR dashboards"]
    assert not app.metric


def test_a_wrong_password_or_a_role_without_analytics_is_refused(
    dashboard_env: DashboardWorld,
) -> None:
    world = dashboard_env
    wrong = signed_in(world.tenant.slug, world.users[Role.MANAGER], password="not-the-password")
    assert "Unknown clinic, e-mail or password." in [e.value for e in wrong.error]
    receptionist = signed_in(world.tenant.slug, world.users[Role.RECEPTIONIST])
    assert "Your role does not give access to the dashboards." in [
        e.value for e in receptionist.error
    ]
    assert not receptionist.metric


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_for_a_manager(dashboard_env: DashboardWorld, page: str) -> None:
    world = dashboard_env
    app = _open(signed_in(world.tenant.slug, world.users[Role.MANAGER]), page)
    assert PAGES[page] in [t.value for t in app.title]
    assert not app.error, [e.value for e in app.error]


def test_revenue_pages_show_charts_and_filters_change_the_numbers(
    dashboard_env: DashboardWorld,
) -> None:
    world = dashboard_env
    app = _open(signed_in(world.tenant.slug, world.users[Role.MANAGER]), "views/revenue.py")
    assert len(app.get("plotly_chart")) >= 4
    everything = _metric(app, "Gross charges")
    department = app.selectbox(key="rev_department")
    department.select(department.options[1]).run()
    one_department = _metric(app, "Gross charges")
    assert one_department != everything
    department.select("All").run()
    period = app.sidebar.date_input(key="rev_period")
    chosen = period.value
    assert isinstance(chosen, tuple) and len(chosen) == 2
    last_month = chosen[1].replace(day=1)
    period.set_value((last_month, chosen[1])).run()
    assert _metric(app, "Gross charges") != everything


def test_operations_filter_by_provider_changes_the_numbers(dashboard_env: DashboardWorld) -> None:
    world = dashboard_env
    app = _open(signed_in(world.tenant.slug, world.users[Role.MANAGER]), "views/operations.py")
    everything = _metric(app, "Appointments")
    provider = app.selectbox(key="ops_provider")
    provider.select(provider.options[1]).run()
    assert _metric(app, "Appointments") != everything


def test_care_gap_lists_only_for_roles_allowed_patient_level_data(
    dashboard_env: DashboardWorld,
) -> None:
    world = dashboard_env
    gaps = world.published.rows["qm_care_gaps"]
    assert gaps
    manager = _open(
        signed_in(world.tenant.slug, world.users[Role.MANAGER]), "views/population_health.py"
    )
    assert not [d for d in manager.dataframe if "mrn" in d.value.columns]
    assert any("analytics.phi.read" in i.value for i in manager.info)
    physician = _open(
        signed_in(world.tenant.slug, world.users[Role.PHYSICIAN]), "views/population_health.py"
    )
    listed = [d.value for d in physician.dataframe if "mrn" in d.value.columns]
    assert listed and len(listed[0]) > 0
    with world.database.owner_engine.connect() as connection:
        audited: int = connection.execute(
            text(
                "SELECT count(*) FROM audit_events WHERE tenant_id = :t "
                "AND action = 'dashboard.phi_list'"
            ),
            {"t": world.tenant.id},
        ).scalar_one()
    assert audited >= 1


def test_another_clinic_sees_none_of_this_clinics_figures(dashboard_env: DashboardWorld) -> None:
    world = dashboard_env
    mine = _open(signed_in(world.tenant.slug, world.users[Role.MANAGER]), "views/operations.py")
    assert _metric(mine, "Appointments") not in ("withheld", "0")
    theirs = signed_in(world.other.slug, world.other_manager)
    for page in PAGES:
        _open(theirs, page)
        assert not theirs.metric or page == "views/data_quality.py"


def test_shown_counts_are_never_small_cells(dashboard_env: DashboardWorld) -> None:
    world = dashboard_env
    app = signed_in(world.tenant.slug, world.users[Role.MANAGER])
    for page in PAGES:
        _open(app, page)
        for metric in app.metric:
            value = metric.value.replace(",", "")
            if value.isdigit():
                assert not 1 <= int(value) <= 10, (page, metric.label, value)
        for frame in app.dataframe:
            data = pl.from_pandas(frame.value)
            for column in data.columns:
                if column in {"numerator", "denominator", "care_gaps", "patients_remaining"}:
                    values = data[column].drop_nulls()
                    assert not values.is_between(1, 10).any(), (page, column)
