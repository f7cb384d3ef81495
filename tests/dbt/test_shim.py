"""The chDB shim: dbt-clickhouse talks to embedded chDB, and holds the warehouse lock while
its client is open, so other processes wait for dbt and proceed afterwards."""

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from dbt.adapters.clickhouse.credentials import ClickHouseCredentials
from filelock import FileLock, Timeout

from transactional.settings import Settings
from warehouse.client import Warehouse, WarehouseBusy
from warehouse.dbt_chdb import LOCK, ChdbClient
from warehouse.dbt_runner import dbt_arguments, dbt_environment, executable, run_dbt
from warehouse.raw import create_raw_tables


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    warehouse = Warehouse(url=None, data_dir=tmp_path / "chdb", lock_timeout=60)
    with warehouse.connect() as client:
        create_raw_tables(client)
    return warehouse


@pytest.fixture
def settings(base_settings: Settings, tmp_path: Path) -> Settings:
    return base_settings.model_copy(
        update={"state_dir": tmp_path, "warehouse_url": None, "warehouse_lock_timeout_seconds": 60}
    )


def test_shim_client_holds_the_warehouse_lock_while_open(warehouse: Warehouse) -> None:
    credentials = ClickHouseCredentials(
        driver="chdb", host=str(warehouse.data_dir), schema="analytics", database=""
    )
    client: Any = ChdbClient(credentials)  # dbt-clickhouse's wrapper methods are untyped
    try:
        assert LOCK.held
        assert client.command("SELECT 1 + 1") == 2
        assert client.command("EXISTS DATABASE analytics") == 1  # created on connect
        with pytest.raises(WarehouseBusy), warehouse.connect(timeout=0.1):
            pass
    finally:
        client.close()
    assert not LOCK.held
    with warehouse.connect(timeout=0.1) as other:
        assert other.command("EXISTS DATABASE analytics") == 1


def _held_by_another(warehouse: Warehouse) -> bool:
    """Probe the lock without opening chDB (opening it would keep dbt waiting)."""
    probe = FileLock(warehouse.lock_path, thread_local=False)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    probe.release()
    return False


def test_other_processes_wait_while_dbt_runs_and_proceed_after(
    warehouse: Warehouse, settings: Settings
) -> None:
    """While `emr-dbt` builds, `Warehouse.connect(timeout=0.1)` raises WarehouseBusy; once it
    has exited, the same call works and sees what dbt built."""
    env = {**os.environ, **dbt_environment(settings, target_dir=settings.state_dir / "target")}
    command = [executable(), *dbt_arguments(["run", "--select", "staging"])]
    log = settings.state_dir / "dbt.out"
    refused = False
    with log.open("wb") as output:
        dbt = subprocess.Popen(
            command, env=env, cwd=settings.state_dir, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            while dbt.poll() is None and not refused:
                if _held_by_another(warehouse):
                    with pytest.raises(WarehouseBusy), warehouse.connect(timeout=0.1):
                        pass
                    refused = True
                time.sleep(0.02)
            dbt.wait(timeout=300)
        finally:
            if dbt.poll() is None:
                dbt.kill()
                dbt.wait()
    assert dbt.returncode == 0, log.read_text()
    assert refused
    with warehouse.connect(timeout=0.1) as client:
        views = client.query(
            "SELECT count() FROM system.tables WHERE database = 'analytics' AND name LIKE 'stg_%'"
        ).result_rows[0][0]
    assert views >= 10


def test_a_busy_warehouse_makes_dbt_fail_cleanly_after_the_lock_timeout(
    warehouse: Warehouse, settings: Settings
) -> None:
    impatient = settings.model_copy(update={"warehouse_lock_timeout_seconds": 1})
    with warehouse.connect():
        run = run_dbt(
            ["debug"], settings=impatient, target_dir=settings.state_dir / "target", check=False
        )
    assert run.returncode != 0
    assert "embedded warehouse still in use" in run.output
