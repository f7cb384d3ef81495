"""`emr-dbt`: dbt's own command line, with dbt-clickhouse able to talk to embedded chDB.

dbt-clickhouse 1.10 knows two drivers, `http` and `native` (upstream's `chdb` driver,
ClickHouse/dbt-clickhouse#693, is not released). Its HTTP client wrapper only creates a
clickhouse-connect client and sends SQL through it; clickhouse-connect's `interface="chdb"`
client has the same interface in-process. So the shim subclasses that wrapper, creates the
chDB client instead, and selects it for `driver: chdb` in the adapter's client factory, in the
process that then runs dbt's CLI entry point: `emr-dbt build ...` is `dbt build ...`.

A chDB data folder can be open in one process at a time, so while any chDB client of this
process is open the shim holds the warehouse's file lock (the same lock `Warehouse.connect`
takes): the API, the replication sensor and dashboards wait meanwhile and proceed afterwards.
dbt opens one client for its main thread and one per worker thread; the lock is taken when the
first opens and released when the last closes. With `reuse_connections: true` (the default)
that is the whole dbt invocation; with `false` dbt closes its worker's client after each
model, which releases the lock between models when the main thread holds none.
"""

import os
import threading
from pathlib import Path
from typing import Any

import clickhouse_connect
from dbt.adapters.clickhouse import connections, dbclient
from dbt.adapters.clickhouse.httpclient import ChHttpClient
from dbt.adapters.exceptions.connection import FailedToConnectError
from filelock import FileLock

from transactional.settings import get_settings
from warehouse.client import Warehouse, WarehouseBusy, acquire_in_turn
from warehouse.dbt_runner import dbt_environment

DRIVER = "chdb"


class _SharedLock:
    """The warehouse file lock, held while at least one chDB client of this process is open.

    One `FileLock` per process: two flock descriptors on one file exclude each other even
    inside a process, so every client must share this one and count its holders.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._lock: FileLock | None = None
        self._path: Path | None = None
        self._holders = 0

    def acquire(self, path: Path, timeout: float) -> None:
        with self._guard:
            if self._holders == 0:
                try:
                    lock = acquire_in_turn(path, timeout)
                except WarehouseBusy as busy:
                    raise FailedToConnectError(str(busy)) from None
                self._lock, self._path = lock, path
            elif path != self._path:
                raise FailedToConnectError("one emr-dbt process serves one chDB data folder")
            self._holders += 1

    def release(self) -> None:
        with self._guard:
            if self._holders == 0:
                return
            self._holders -= 1
            if self._holders == 0 and self._lock is not None:
                self._lock.release()
                self._lock, self._path = None, None

    @property
    def held(self) -> bool:
        return self._holders > 0


LOCK = _SharedLock()


class ChdbClient(ChHttpClient):
    """dbt-clickhouse's HTTP client wrapper over an in-process chDB client.

    The profile's `host` names the chDB data folder (dbt-clickhouse credentials have no
    `path` field and reject unknown ones).
    """

    _holds_lock = False

    def _create_client(self, credentials: Any) -> Any:
        if not credentials.host:
            raise FailedToConnectError("driver chdb needs the data folder as `host`")
        warehouse = Warehouse(
            url=None,
            data_dir=Path(credentials.host),
            lock_timeout=get_settings().warehouse_lock_timeout_seconds,
        )
        warehouse.data_dir.parent.mkdir(parents=True, exist_ok=True)
        LOCK.acquire(warehouse.lock_path, warehouse.lock_timeout)
        self._holds_lock = True
        try:
            return clickhouse_connect.get_client(
                interface="chdb",
                path=str(warehouse.data_dir),
                settings=_engine_settings(self._conn_settings),
            )
        except Exception:
            self._release_lock()
            raise

    def close(self) -> None:
        try:
            self._client.close()
        finally:
            self._release_lock()

    def _release_lock(self) -> None:
        if self._holds_lock:
            self._holds_lock = False
            LOCK.release()


def _engine_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The wrapper's session settings less the HTTP session id, which chDB has no use for."""
    return {key: value for key, value in settings.items() if key != "session_id"}


def _get_db_client(credentials: Any) -> Any:
    if credentials.driver == DRIVER:
        return ChdbClient(credentials)
    return _original_get_db_client(credentials)


_original_get_db_client = dbclient.get_db_client


def install() -> None:
    """Route `driver: chdb` to the shim (idempotent). The connection manager imported the
    factory by name, so both module attributes are replaced."""
    setattr(dbclient, "get_db_client", _get_db_client)  # noqa: B010 - replacing a module's function
    setattr(connections, "get_db_client", _get_db_client)  # noqa: B010


def main() -> None:
    """`emr-dbt ARGS...`: dbt's CLI with the shim installed; exits with dbt's exit code.

    Variables the caller did not set (profile target, chDB folder or server, project and
    profiles directories) default from the EMR settings, so a bare `emr-dbt build` builds
    the project against the configured warehouse.
    """
    for key, value in dbt_environment(get_settings()).items():
        os.environ.setdefault(key, value)
    install()
    from dbt.cli.main import cli

    cli(prog_name="emr-dbt")
