"""Population generation and bulk load (issue 5). Not a test: run it by hand.

    .venv/bin/python -m tests.benchmarks.seed_load --patients 10000 100000

For each size, in a process of its own (so peak memory is that size's): a throwaway embedded
PostgreSQL (or EMR_DATABASE_URL's server, in a throwaway database), a fresh tenant, the
population generated, the same rows COPYed as the owner into bare copies of the tables (no
indexes, constraints, triggers or row-level security: the raw COPY baseline), then loaded the
real way (staging, RLS, every constraint, ledger and capture triggers, audit). Prints one JSON
line per size: patients/s, rows/s, peak memory, and our throughput as a share of raw COPY.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from psycopg import sql
from sqlalchemy import create_engine, func, make_url, select, text

from transactional.database import Database, resolve_urls
from transactional.schema import upgrade
from transactional.settings import Settings
from transactional.synthetic.load import csv_ready, insertable, load_population, table_named
from transactional.synthetic.seed import generate, tenant_for
from transactional.tenancy import bind_tenant

AS_OF = date(2026, 11, 22)


def raw_copy_seconds(database: Database, tables: dict[str, Any]) -> float:
    """COPY every frame into a bare copy of its table, as the owner; the floor to compare with."""
    raw = database.owner_engine.raw_connection()
    try:
        cursor = raw.cursor()
        began = time.perf_counter()
        for name, frame in tables.items():
            bare = sql.Identifier(f"bare_{name}")
            cursor.execute(
                sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING GENERATED)").format(
                    bare, sql.Identifier(name)
                )
            )
            columns = [c for c in insertable(table_named(name)) if c in frame.columns]
            listed = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
            statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, NULL {})").format(
                bare, listed, sql.Literal("\\N")
            )
            with cursor.copy(statement) as copy:
                copy.write(
                    csv_ready(frame.select(columns)).write_csv(
                        include_header=False, null_value="\\N"
                    )
                )
        raw.commit()
        seconds = time.perf_counter() - began
        for name in tables:
            cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(f"bare_{name}")))
        raw.commit()
        return seconds
    finally:
        raw.close()


def one(patients: int, seed: int) -> dict[str, Any]:
    state_dir = Path(tempfile.mkdtemp(prefix="emr-seed-bench-"))
    settings = Settings(state_dir=state_dir)
    scratch = None
    if settings.database_url is not None:
        server = make_url(settings.database_url.get_secret_value())
        name = f"emr_seedbench_{uuid.uuid4().hex[:8]}"
        with create_engine(server, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        scratch = (server, name)
        settings = settings.model_copy(
            update={
                "database_url": type(settings.database_url)(
                    server.set(database=name).render_as_string(hide_password=False)
                )
            }
        )
    database = Database(resolve_urls(settings))
    try:
        upgrade(database, app_role=settings.app_db_role)
        tenant = tenant_for(database, "bench")
        with database.transaction() as session:
            bind_tenant(session, tenant.id)
            numbers: Any = list(session.scalars(select(func.app_next_mrn(patients))))
        began = time.perf_counter()
        population = generate(
            seed=seed,
            slug="bench",
            tenant_id=tenant.id,
            patients=patients,
            as_of=AS_OF,
            mrn_numbers=numbers,
        )
        generated = time.perf_counter() - began
        rows = sum(frame.height for frame in population.tables.values())
        raw_seconds = raw_copy_seconds(database, population.tables)
        began = time.perf_counter()
        report = load_population(
            database=database, tenant_id=tenant.id, tables=population.tables, batch="bench"
        )
        loaded = time.perf_counter() - began
        assert report.total_rows == rows
        total = generated + loaded
        return {
            "cores": os.cpu_count(),
            "patients": patients,
            "rows": rows,
            "generate_seconds": round(generated, 1),
            "load_seconds": round(loaded, 1),
            "total_seconds": round(total, 1),
            "patients_per_second": round(patients / total, 1),
            "rows_per_second_load": round(rows / loaded),
            "rows_per_second_total": round(rows / total),
            "raw_copy_seconds": round(raw_seconds, 1),
            "raw_copy_rows_per_second": round(rows / raw_seconds),
            "share_of_raw_copy": round(raw_seconds / loaded, 3),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
            "outcomes": population.outcomes(),
        }
    finally:
        database.dispose()
        if scratch is not None:
            with create_engine(scratch[0], isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch[1]}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.patients[0], args.seed)), flush=True)
        return
    for patients in args.patients:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.benchmarks.seed_load",
                "--one",
                "--patients",
                str(patients),
                "--seed",
                str(args.seed),
            ],
            check=True,
        )


if __name__ == "__main__":
    main()
