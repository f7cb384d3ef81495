import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from warehouse.client import Warehouse, WarehouseBusy, acquire_in_turn


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(url=None, data_dir=tmp_path / "chdb", lock_timeout=30)


def test_embedded_warehouse_persists_between_connections(warehouse: Warehouse) -> None:
    with warehouse.connect() as client:
        client.command("CREATE TABLE t (id UInt32, name String) ENGINE = MergeTree ORDER BY id")
        client.insert("t", [[1, "a"], [2, "b"]], column_names=["id", "name"])
    with warehouse.connect() as client:
        assert client.query("SELECT sum(id), groupArray(name) FROM t").result_rows == [
            (3, ["a", "b"])
        ]


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from warehouse.client import Warehouse
    w = Warehouse(url=None, data_dir=Path(sys.argv[1]), lock_timeout=30)
    with w.connect() as client:
        client.command("SELECT 1")
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def test_other_processes_wait_for_the_embedded_warehouse(warehouse: Warehouse) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(warehouse.data_dir), "2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        with pytest.raises(WarehouseBusy), warehouse.connect(timeout=0.2):
            pass
        began = time.monotonic()
        with warehouse.connect(timeout=30) as client:
            assert client.command("SELECT 41 + 1") == 42
        assert time.monotonic() - began > 0.5
    finally:
        holder.wait(timeout=30)
        if holder.stdout is not None:
            holder.stdout.close()
    assert holder.returncode == 0


def test_server_mode_needs_no_lock(tmp_path: Path) -> None:
    remote = Warehouse(
        url="http://127.0.0.1:9/default", data_dir=tmp_path / "unused", lock_timeout=1
    )
    assert not remote.embedded
    with pytest.raises(Exception, match=r"(?i)connect|refused|error"), remote.connect() as client:
        client.command("SELECT 1")
    assert not remote.lock_path.exists()


def test_threads_of_one_process_take_turns(warehouse: Warehouse) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with warehouse.connect() as client:
        client.command("CREATE TABLE hits (n UInt32) ENGINE = MergeTree ORDER BY n")

    def insert(n: int) -> None:
        with warehouse.connect() as client:
            client.insert("hits", [[n]], column_names=["n"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(insert, range(12)))
    with warehouse.connect() as client:
        assert client.command("SELECT count() FROM hits") == 12


_GREEDY = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from warehouse.client import acquire_in_turn

    path, end = Path(sys.argv[1]), time.monotonic() + float(sys.argv[2])
    print("started", flush=True)
    while time.monotonic() < end:  # take it back the moment it is let go
        lock = acquire_in_turn(path, 30)
        time.sleep(0.05)
        lock.release()
    """
)


def test_a_waiter_gets_its_turn_from_a_process_that_takes_the_lock_back_at_once(
    warehouse: Warehouse,
) -> None:
    greedy = subprocess.Popen(
        [sys.executable, "-c", _GREEDY, str(warehouse.lock_path), "8"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert greedy.stdout is not None and greedy.stdout.readline().strip() == "started"
        time.sleep(0.3)
        for _ in range(10):
            # Raises WarehouseBusy after 1 s; with plain flock polling some of these do.
            acquire_in_turn(warehouse.lock_path, 1).release()
    finally:
        greedy.wait(timeout=30)
        if greedy.stdout is not None:
            greedy.stdout.close()
    assert greedy.returncode == 0
