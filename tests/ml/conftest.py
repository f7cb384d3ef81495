"""One generated population for the risk-model tests: seeded into PostgreSQL, replicated into
a throwaway chDB and built by dbt (the ML feature marts and what they read), once per run.

The population is a pure function of seed, slug, size and as-of date, so every run trains on
the same data; `outcomes` holds the generator's achievable AUROC for it.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pytest

from pipelines.replication import full_resync
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.settings import Settings
from transactional.synthetic.seed import seed_population, tenant_for
from warehouse.client import Warehouse
from warehouse.dbt_runner import run_dbt

AS_OF = date(2026, 11, 22)
PATIENTS = 3000
SEED = 20261122
SLUG = "ml-population"
ML_MARTS = "+ml_t2d_features +ml_readmission_features"


@dataclass
class Population:
    database: Database
    settings: Settings
    warehouse: Warehouse
    tenant: Tenant
    outcomes: dict[str, dict[str, float | int]]
    seconds: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="session")
def population(
    own_database: Callable[[str], Database],
    base_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Population:
    database = own_database("ml")
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    seeded = seed_population(
        database=database, slug=SLUG, patients=PATIENTS, seed=SEED, as_of=AS_OF, progress=None
    )
    seconds["seed"] = time.perf_counter() - began
    root = tmp_path_factory.mktemp("ml")
    settings = base_settings.model_copy(
        update={"state_dir": root, "warehouse_url": None, "warehouse_lock_timeout_seconds": 300}
    )
    warehouse = Warehouse.from_settings(settings)
    began = time.perf_counter()
    with warehouse.connect() as client:
        full_resync(source=database.urls.owner, client=client)
    seconds["replicate"] = time.perf_counter() - began
    began = time.perf_counter()
    run = run_dbt(
        # Models only: the marts' data and unit tests run with the whole project's build
        # (tests/dbt), and would double this fixture's time here.
        ["run", "--select", ML_MARTS],
        settings=settings,
        as_of=AS_OF,
        target_dir=root / "target",
        check=False,
    )
    assert run.returncode == 0, run.output[-6000:]
    seconds["dbt"] = time.perf_counter() - began
    return Population(
        database=database,
        settings=settings,
        warehouse=warehouse,
        tenant=tenant_for(database, SLUG),
        outcomes=seeded.outcomes,
        seconds=seconds,
    )
