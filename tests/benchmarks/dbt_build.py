"""`dbt build` on chDB at 10,000 and 100,000 patients. Not a test: run it by hand.

    .venv/bin/python -m tests.benchmarks.dbt_build --patients 10000 100000

For each size, in a process of its own: a throwaway embedded PostgreSQL and chDB folder (or
`--state-dir`, kept and reused: a folder already seeded with that many patients is not seeded
again), a fresh tenant seeded with the synthetic population, a full resync into the raw layer,
then `emr-dbt build` (the chDB shim, one thread) timed end to end three times: the first
build of an empty `analytics` database, a rebuild over it, and the production build (without
unit tests, as Dagster runs it). Prints one JSON line per size, with the seconds dbt spent per
resource type (from run_results.json), the slowest nodes and the machine's load average.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from pipelines.replication import full_resync
from transactional.database import Database, resolve_urls
from transactional.schema import upgrade
from transactional.settings import Settings
from transactional.synthetic.seed import seed_population
from warehouse.client import Warehouse
from warehouse.dbt_runner import run_dbt

AS_OF = date(2026, 11, 22)
SLUG = "dbt-bench"


def dbt_phases(target_dir: Path) -> dict[str, Any]:
    results = json.loads((target_dir / "run_results.json").read_text())["results"]
    seconds: dict[str, float] = defaultdict(float)
    for result in results:
        seconds[result["unique_id"].split(".")[0]] += result["execution_time"]
    slowest = sorted(results, key=lambda r: r["execution_time"], reverse=True)[:8]
    return {
        "seconds_by_resource_type": {kind: round(s, 1) for kind, s in sorted(seconds.items())},
        "nodes": len(results),
        "slowest": {r["unique_id"].split(".")[-1]: round(r["execution_time"], 2) for r in slowest},
    }


def one(patients: int, seed: int, state_dir: Path | None) -> dict[str, Any]:
    throwaway = state_dir is None
    state = state_dir or Path(tempfile.mkdtemp(prefix="emr-dbt-bench-"))
    state.mkdir(parents=True, exist_ok=True)
    settings = Settings(state_dir=state, warehouse_url=None, warehouse_lock_timeout_seconds=600)
    marker = state / f"dbt-bench-seeded-{patients}"
    figures: dict[str, Any] = {"cores": os.cpu_count(), "patients": patients}
    try:
        if not marker.exists():
            database = Database(resolve_urls(settings))
            try:
                upgrade(database, app_role=settings.app_db_role)
                began = time.perf_counter()
                seeded = seed_population(
                    database=database,
                    slug=SLUG,
                    patients=patients,
                    seed=seed,
                    as_of=AS_OF,
                    progress=None,
                )
                figures["seed_seconds"] = round(time.perf_counter() - began, 1)
                # For tests.benchmarks.risk_scoring --slug dbt-bench --outcomes FILE.
                (state / "seed-outcomes.json").write_text(json.dumps(seeded.outcomes))
                began = time.perf_counter()
                with Warehouse.from_settings(settings).connect() as client:
                    report = full_resync(source=database.urls.owner, client=client)
                figures["resync_seconds"] = round(time.perf_counter() - began, 1)
                figures["raw_rows"] = sum(report.rows.values())
            finally:
                database.dispose()
            marker.touch()
        with Warehouse.from_settings(settings).connect() as client:
            client.command("DROP DATABASE IF EXISTS analytics")
        target = state / "dbt-target"
        runs = {
            "first_build": ["build"],
            "rebuild": ["build"],
            "production_build": ["build", "--exclude-resource-type", "unit_test"],
        }
        for label, command in runs.items():
            began = time.perf_counter()
            run_dbt(command, settings=settings, as_of=AS_OF, target_dir=target)
            figures[f"{label}_seconds"] = round(time.perf_counter() - began, 1)
            figures[f"{label}_dbt"] = dbt_phases(target)
        figures["load_average"] = [round(x, 1) for x in os.getloadavg()]
        return figures
    finally:
        if throwaway:
            shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--state-dir", type=Path, default=None, help="keep (and reuse) the engines' data here"
    )
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        state = args.state_dir / str(args.patients[0]) if args.state_dir else None
        print(json.dumps(one(args.patients[0], args.seed, state)), flush=True)
        return
    for patients in args.patients:
        command = [sys.executable, "-m", "tests.benchmarks.dbt_build", "--one"]
        command += ["--patients", str(patients), "--seed", str(args.seed)]
        if args.state_dir:
            command += ["--state-dir", str(args.state_dir)]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
