"""Embedded mode with everything running at once, each in its own process: the API server,
`emr pipeline follow`, a dbt run (`emr-dbt`) and a warehouse reader (as a dashboard reads)
share one chDB folder and one PostgreSQL. All make progress, none fails, and what the
clinic writes meanwhile reaches the warehouse."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.factories.identity import make_tenant
from tests.factories.patients import make_patient
from tests.processes import free_port, wait_for
from transactional.database import Database
from transactional.settings import Settings
from warehouse.client import Warehouse
from warehouse.dbt_runner import PROJECT_DIR, dbt_environment, executable

READER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from warehouse.client import Warehouse

    warehouse = Warehouse(url=None, data_dir=Path(sys.argv[1]), lock_timeout=120)
    end, reads, longest = time.monotonic() + float(sys.argv[2]), 0, 0.0
    while time.monotonic() < end:
        began = time.monotonic()
        with warehouse.connect() as client:
            client.query("SELECT count() FROM raw.patients FINAL WHERE NOT _is_deleted")
        longest = max(longest, time.monotonic() - began)
        reads += 1
        time.sleep(0.1)
    print(reads, round(longest, 2))
    """
)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310 - local server
            return bool(response.status == 200)
    except OSError:
        return False


def _patients(warehouse: Warehouse, tenant: str) -> int:
    with warehouse.connect() as client:
        exists = client.query("EXISTS TABLE raw.patients").result_rows[0][0]
        if not exists:
            return -1
        return int(
            client.query(
                "SELECT count() FROM raw.patients FINAL "
                "WHERE tenant_id = {t:UUID} AND NOT _is_deleted",
                parameters={"t": tenant},
            ).result_rows[0][0]
        )


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []

    def start(*command: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_api_replication_dbt_and_a_reader_share_the_embedded_warehouse(
    own_database: Callable[[str], Database],
    base_settings: Settings,
    tmp_path: Path,
    started: Callable[..., subprocess.Popen[str]],
) -> None:
    database = own_database("together")
    tenant = make_tenant(database=database)
    make_patient(database=database, tenant=tenant)
    settings = base_settings.model_copy(update={"state_dir": tmp_path, "warehouse_url": None})
    warehouse = Warehouse(url=None, data_dir=tmp_path / "chdb", lock_timeout=120)
    env = os.environ | {
        "EMR_DATABASE_URL": database.urls.owner.render_as_string(hide_password=False),
        "EMR_STATE_DIR": str(tmp_path),
    }
    env.pop("EMR_APP_DATABASE_URL", None)
    emr = str(Path(sys.executable).with_name("emr"))
    port = free_port()

    api = started(emr, "serve", "--port", str(port), env=env)
    follow = started(emr, "pipeline", "follow", "--interval", "0.2", env=env)
    wait_for(lambda: _healthy(f"http://127.0.0.1:{port}/healthz"), seconds=60, what="the API")
    wait_for(lambda: _patients(warehouse, str(tenant.id)) == 1, seconds=120, what="a resync")

    reader = started(sys.executable, "-c", READER, str(tmp_path / "chdb"), "20", env=env)
    dbt_env = env | dbt_environment(settings, target_dir=tmp_path / "target")
    dbt = started(executable(), "run", "--select", "stg_patients", env=dbt_env, cwd=PROJECT_DIR)
    for _ in range(5):  # the clinic keeps registering patients meanwhile
        make_patient(database=database, tenant=tenant)
        # Ready throughout: a warehouse held by dbt is busy, not down.
        assert _healthy(f"http://127.0.0.1:{port}/readyz")
        time.sleep(1)
    dbt_output, dbt_errors = dbt.communicate(timeout=300)
    reads, reader_error = reader.communicate(timeout=120)

    assert dbt.returncode == 0, (dbt_output + dbt_errors)[-3000:]
    assert reader.returncode == 0, reader_error[-3000:]
    count, longest_wait = reads.split()
    # dbt holds the warehouse for its whole run; the reader waited its turn, then went on.
    assert int(count) >= 5 and float(longest_wait) < 60, reads
    wait_for(lambda: _patients(warehouse, str(tenant.id)) == 6, seconds=60, what="the new patients")
    with warehouse.connect() as client:
        staged = client.query(
            "SELECT count() FROM analytics.stg_patients WHERE tenant_id = {t:UUID}",
            parameters={"t": str(tenant.id)},
        ).result_rows[0][0]
    assert staged == 6  # a view over the raw table: it sees what replication wrote since
    assert api.poll() is None and follow.poll() is None
    # As a service manager stops them (SIGINT may be ignored in a background job's children).
    follow.send_signal(signal.SIGTERM)
    api.send_signal(signal.SIGTERM)
    _, follow_log = follow.communicate(timeout=60)
    api.communicate(timeout=60)
    assert follow.returncode == 0 and "stopped" in follow_log
    assert api.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises it after shutting down
