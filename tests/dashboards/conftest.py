"""One small seeded clinic for the dashboard tests, built once per session: replicated into a
throwaway chDB, marts built by dbt, shipped cohorts materialized, then published as the
dashboards' snapshot. A second clinic with one patient checks that no page shows another
tenant's figures. The dashboards read it through the same EMR_* settings `emr dashboard`
hands them."""

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from pydantic import SecretStr
from streamlit.testing.v1 import AppTest

from pipelines.replication import full_resync
from tests.factories.identity import PASSWORD, make_tenant, make_user
from tests.factories.patients import make_patient
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.identity.roles import Role
from transactional.settings import Settings, get_settings
from transactional.synthetic.seed import seed_population, tenant_for
from warehouse.client import Warehouse
from warehouse.cohorts.loader import shipped_definitions
from warehouse.cohorts.runner import materialize_cohort
from warehouse.dbt_runner import run_dbt
from warehouse.publish import Published, publish, published_root

AS_OF = date(2026, 11, 22)
PATIENTS = 250
APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


@dataclass(frozen=True)
class DashboardWorld:
    database: Database
    settings: Settings
    warehouse: Warehouse
    tenant: Tenant
    other: Tenant
    users: dict[Role, str]  # e-mail per role, in `tenant`
    other_manager: str
    published: Published


@pytest.fixture(scope="session")
def dashboard_world(
    own_database: Callable[[str], Database],
    base_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> DashboardWorld:
    database = own_database("dashboards")
    slug = f"dash-{uuid.uuid4().hex[:8]}"
    seed_population(
        database=database, slug=slug, patients=PATIENTS, seed=8, as_of=AS_OF, progress=None
    )
    tenant = tenant_for(database, slug)
    users = {
        role: make_user(database=database, tenant=tenant, role=role).email
        for role in (Role.MANAGER, Role.PHYSICIAN, Role.RECEPTIONIST)
    }
    other = make_tenant(database=database)
    make_patient(database=database, tenant=other)
    other_manager = make_user(database=database, tenant=other, role=Role.MANAGER).email
    root = tmp_path_factory.mktemp("dashboards")
    settings = base_settings.model_copy(
        update={
            "state_dir": root,
            "warehouse_url": None,
            "warehouse_lock_timeout_seconds": 300,
            "database_url": SecretStr(database.urls.owner.render_as_string(hide_password=False)),
        }
    )
    warehouse = Warehouse.from_settings(settings)
    with warehouse.connect() as client:
        full_resync(source=database.urls.owner, client=client)
    run = run_dbt(
        # Seeds and models; the marts' own tests run in tests/dbt.
        ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"],
        settings=settings,
        as_of=AS_OF,
        target_dir=root / "target",
        check=False,
    )
    assert run.returncode == 0, run.output[-6000:]
    with warehouse.connect() as client:
        for definition in shipped_definitions().values():
            materialize_cohort(client, definition=definition, tenant_id=tenant.id)
    published = publish(warehouse, root=published_root(root), models_root=root / "models")
    return DashboardWorld(
        database, settings, warehouse, tenant, other, users, other_manager, published
    )


@pytest.fixture
def dashboard_env(
    dashboard_world: DashboardWorld, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DashboardWorld]:
    """The EMR_* environment `emr dashboard` gives the app, pointing at the test world."""
    settings = dashboard_world.settings
    assert settings.database_url is not None
    monkeypatch.setenv("EMR_STATE_DIR", str(settings.state_dir))
    monkeypatch.setenv("EMR_DATABASE_URL", settings.database_url.get_secret_value())
    monkeypatch.setenv("EMR_TOKEN_RATE_LIMIT", "10000/minute")
    get_settings.cache_clear()
    yield dashboard_world
    get_settings.cache_clear()


def signed_in(slug: str, email: str, *, password: str = PASSWORD) -> AppTest:
    """The app after signing in through its form."""
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.run()
    app.text_input(key="login_tenant").input(slug)
    app.text_input(key="login_email").input(email)
    app.text_input(key="login_password").input(password)
    app.button[0].click()
    app.run()
    return app
