"""Opening the warehouse.

Embedded mode runs chDB inside the calling process. A chDB data folder can be open in only one
process at a time, so every access here is short and serialized across processes by a file
lock: the API, pipelines, dbt and dashboards each take it, use the client, and let go.
In server mode the same interface talks HTTP to ClickHouse and no lock is needed.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from filelock import FileLock, Timeout

from transactional.settings import Settings


class WarehouseBusy(TimeoutError):
    """Another process held the embedded warehouse for longer than the lock timeout."""


def acquire_in_turn(path: Path, timeout: float) -> FileLock:
    """Take the warehouse file lock at `path`, waiting at most `timeout` seconds, in turn.

    flock is not first-come, first-served: a waiter polls, and a process that releases the lock
    and asks again at once (replication every fraction of a second, a dashboard) can take it
    back every time, so a dbt build waiting its turn would starve. A waiter therefore first
    takes a queue lock and holds it until it has the warehouse lock: whoever asks next waits
    behind it. The caller releases the returned lock."""
    deadline = time.monotonic() + timeout
    queue = FileLock(path.with_name(path.name + ".queue"), thread_local=False)
    try:
        queue.acquire(timeout=timeout)
    except Timeout:
        raise WarehouseBusy(f"embedded warehouse still in use after {timeout:.0f}s") from None
    try:
        lock = FileLock(path, thread_local=False)
        try:
            lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
        except Timeout:
            raise WarehouseBusy(f"embedded warehouse still in use after {timeout:.0f}s") from None
        return lock
    finally:
        queue.release()


@dataclass(frozen=True)
class Warehouse:
    url: str | None
    data_dir: Path
    lock_timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "Warehouse":
        return cls(
            url=settings.warehouse_url.get_secret_value() if settings.warehouse_url else None,
            data_dir=settings.state_dir / "chdb",
            lock_timeout=settings.warehouse_lock_timeout_seconds,
        )

    @property
    def embedded(self) -> bool:
        return self.url is None

    @property
    def lock_path(self) -> Path:
        return self.data_dir.with_name(self.data_dir.name + ".lock")

    @contextmanager
    def connect(self, *, timeout: float | None = None) -> Iterator[Client]:
        if self.url is not None:
            client = clickhouse_connect.get_client(dsn=self.url)
            try:
                yield client
            finally:
                client.close()
            return

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        wait = self.lock_timeout if timeout is None else timeout
        # flock on a descriptor of its own: excludes other processes and other threads alike.
        lock = acquire_in_turn(self.lock_path, wait)
        try:
            client = clickhouse_connect.get_client(interface="chdb", path=str(self.data_dir))
            try:
                yield client
            finally:
                client.close()
        finally:
            lock.release()
