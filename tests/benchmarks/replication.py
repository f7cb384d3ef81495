"""Replication throughput and freshness (issue 6). Not a test: run it by hand.

    .venv/bin/python -m tests.benchmarks.replication --patients 10000
    .venv/bin/python -m tests.benchmarks.replication --state-dir /path/with/a/population

1. Initial snapshot: a full resync of every table into an empty chDB folder; rows/s.
2. Freshness: writers commit a steady stream of changes (default 500 changed rows/s, ten rows
   per transaction) while a replication loop runs in the same process; for every transaction,
   the time from its commit returning to the end of the pass that made it queryable in the
   warehouse. Prints one JSON line.
"""

import argparse
import json
import os
import random
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
from sqlalchemy import text

from pipelines.replication import PassReport, full_resync, replicate
from transactional.capture.reader import libpq_uri
from transactional.database import Database, resolve_urls
from transactional.schema import upgrade
from transactional.settings import Settings
from transactional.synthetic.seed import seed_population
from warehouse.client import Warehouse


@dataclass(frozen=True)
class Commit:
    txid: int
    committed: float


def _patient_ids(database: Database) -> list[str]:
    with database.owner_engine.connect() as connection:
        found: list[str] = list(connection.execute(text("SELECT id::text FROM patients")).scalars())
    return found


def _writer(
    url: str, ids: list[str], rate: float, per_txn: int, until: float, out: list[Commit]
) -> None:
    rng = random.Random(threading.get_ident())
    interval = per_txn / rate
    with psycopg.connect(url) as connection:
        next_at = time.monotonic()
        while time.monotonic() < until:
            with connection.transaction():
                txid = connection.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()
                connection.execute(
                    "UPDATE patients SET updated_at = clock_timestamp() WHERE id = ANY(%s::uuid[])",
                    (rng.sample(ids, per_txn),),
                )
            assert txid is not None
            out.append(Commit(int(txid[0]), time.monotonic()))
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))


def _follow(
    database: Database,
    warehouse: Warehouse,
    stop: threading.Event,
    passes: list[tuple[PassReport, float]],
) -> None:
    while not stop.is_set():
        with warehouse.connect() as client:
            report = replicate(source=database.urls.owner, client=client)
        passes.append((report, time.monotonic()))
        time.sleep(0.1)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--state-dir", type=Path, help="an existing state folder with data")
    parser.add_argument("--rate", type=float, default=500.0, help="changed rows per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--writers", type=int, default=2)
    arguments = parser.parse_args()

    state_dir = arguments.state_dir or Path(tempfile.mkdtemp(prefix="emr-repl-bench-"))
    settings = Settings(state_dir=state_dir)
    database = Database(resolve_urls(settings))
    upgrade(database, app_role=settings.app_db_role)
    if arguments.state_dir is None:
        seed_population(
            database=database,
            slug="replication-bench",
            patients=arguments.patients,
            seed=11,
            as_of=date(2026, 11, 22),
            progress=None,
        )
    chdb = Path(tempfile.mkdtemp(prefix="emr-repl-chdb-"))
    warehouse = Warehouse(url=None, data_dir=chdb / "chdb", lock_timeout=600)

    began = time.perf_counter()
    with warehouse.connect() as client:
        snapshot = full_resync(source=database.urls.owner, client=client)
    snapshot_seconds = time.perf_counter() - began
    snapshot_rows = sum(snapshot.rows.values())

    ids = _patient_ids(database)
    stop = threading.Event()
    passes: list[tuple[PassReport, float]] = []
    commits: list[Commit] = []
    follower = threading.Thread(target=_follow, args=(database, warehouse, stop, passes))
    follower.start()
    until = time.monotonic() + arguments.seconds
    url = libpq_uri(database.urls.owner)
    writers = [
        threading.Thread(
            target=_writer,
            args=(url, ids, arguments.rate / arguments.writers, 10, until, commits),
        )
        for _ in range(arguments.writers)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    time.sleep(3)
    stop.set()
    follower.join()

    freshness = []
    for commit in commits:
        for report, finished in passes:
            if report.kind == "incremental" and report.since <= commit.txid < report.until:
                freshness.append(finished - commit.committed)
                break
    incremental = [r for r, _ in passes if r.kind == "incremental" and r.total_rows]
    result = {
        "cores": os.cpu_count(),
        "patients": len(ids),
        "snapshot_rows": snapshot_rows,
        "snapshot_seconds": round(snapshot_seconds, 2),
        "snapshot_rows_per_second": round(snapshot_rows / snapshot_seconds),
        "changes_per_second_target": arguments.rate,
        "changes_per_second_achieved": round(len(commits) * 10 / arguments.seconds, 1),
        "transactions": len(commits),
        "transactions_replicated": len(freshness),
        "passes": len(incremental),
        "pass_seconds_p50": round(_percentile([r.seconds for r in incremental], 0.5), 3),
        "freshness_p50_seconds": round(_percentile(freshness, 0.5), 3),
        "freshness_p95_seconds": round(_percentile(freshness, 0.95), 3),
        "freshness_max_seconds": round(max(freshness), 3),
    }
    print(json.dumps(result))
    shutil.rmtree(chdb, ignore_errors=True)
    if arguments.state_dir is None:
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
