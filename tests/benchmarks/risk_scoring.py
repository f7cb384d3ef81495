"""Risk models at scale: training time, batch scoring rate, on-demand latency, and the
models' test metrics against the generator's achievable AUROC. Not a test: run it by hand.

    .venv/bin/python -m tests.benchmarks.risk_scoring --patients 3000
    .venv/bin/python -m tests.benchmarks.risk_scoring --patients 100000 --state-dir DIR

In a throwaway embedded PostgreSQL and chDB folder (or `--state-dir`, kept and reused: a
folder marked by `risk-bench-outcomes.json` is not prepared again): seed a population (unless
tenant `--slug` already holds one, e.g. the lead's `bench` tenant: pass `--outcomes` with the
JSON its seeding printed), full resync, `emr-dbt run` of the ML feature marts and what they
read, then
- training: each model on its mart's complete units (reading the mart, fitting, evaluating),
  registered under the state folder; its test AUROC against the generator's achievable AUROC
  minus 0.03 and its calibration slope against 0.9-1.1;
- batch scoring: every unit scored today, read from the warehouse, scored, and written to
  PostgreSQL through `transactional.risk.services` (patients per second, with and without
  the write);
- on-demand: `ml.online.score_patient` for `--on-demand` patients one by one, each in its own
  committed transaction (features from PostgreSQL, score, store, audit), p50/p99 in ms; and
  the same without storing (features and score only).
Prints one JSON object.
"""

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from datetime import time as clock
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from ml.batch import tenant_scores
from ml.features.record import record_unit
from ml.features.spec import MODELS
from ml.marts import mart_units
from ml.online import score_patient
from ml.registry import Registry
from ml.scoring import score_inputs
from ml.training import train
from pipelines.replication import full_resync
from transactional.audit.trail import Actor
from transactional.database import Database, resolve_urls
from transactional.patients.models import Patient
from transactional.patients.registry import find_patient
from transactional.risk.services import record_scores
from transactional.schema import upgrade
from transactional.settings import Settings
from transactional.synthetic.seed import seed_population, tenant_for
from transactional.tenancy import bind_tenant
from warehouse.client import Warehouse
from warehouse.dbt_runner import run_dbt

AS_OF = date(2026, 11, 22)
SLUG = "risk-bench"
MARKER = "risk-bench-outcomes.json"
ACTOR = Actor(user_id=None, role="system", user_agent="benchmark:risk_scoring")


def _percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def _holds_patients(database: Database, slug: str) -> bool:
    tenant = tenant_for(database, slug)
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return session.scalar(select(func.count()).select_from(Patient)) != 0


def _prepare(
    settings: Settings,
    database: Database,
    *,
    slug: str,
    patients: int,
    seed: int,
    outcomes: dict[str, Any],
) -> dict[str, Any]:
    """Seed (unless the tenant already holds a population: then `outcomes` are the ones its
    seeding printed), resync and build the marts, once per state folder."""
    marker = settings.state_dir / MARKER
    figures: dict[str, Any] = {}
    if marker.exists():
        return {"outcomes": json.loads(marker.read_text()), "reused_state": True}
    if not _holds_patients(database, slug):
        began = time.perf_counter()
        outcomes = seed_population(
            database=database, slug=slug, patients=patients, seed=seed, as_of=AS_OF, progress=None
        ).outcomes
        figures["seed_seconds"] = round(time.perf_counter() - began, 1)
    began = time.perf_counter()
    with Warehouse.from_settings(settings).connect() as client:
        full_resync(source=database.urls.owner, client=client)
    figures["resync_seconds"] = round(time.perf_counter() - began, 1)
    began = time.perf_counter()
    run_dbt(
        ["run", "--select", "+ml_t2d_features +ml_readmission_features"],
        settings=settings,
        as_of=AS_OF,
        target_dir=settings.state_dir / "risk-bench-target",
    )
    figures["dbt_seconds"] = round(time.perf_counter() - began, 1)
    marker.write_text(json.dumps(outcomes))
    figures["outcomes"] = outcomes
    return figures


def _outcomes(path: Path | None) -> dict[str, Any]:
    """The outcomes `emr seed` (or seed_population) printed: a JSON object, or one holding
    them under "outcomes" (the last JSON line of the file)."""
    if path is None:
        return {}
    lines = [line for line in path.read_text().splitlines() if line.strip().startswith("{")]
    found: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    return dict(found.get("outcomes", found))


def _training(warehouse: Warehouse, registry: Registry, tenant: uuid.UUID, outcomes: Any) -> Any:
    results = {}
    for spec in MODELS.values():
        began = time.perf_counter()
        with warehouse.connect() as client:
            units = mart_units(client, spec, tenants=[tenant], complete=True)
        read = time.perf_counter() - began
        model = train(spec, units, as_of=AS_OF, tenants=[str(tenant)])
        version = registry.register(model)
        test = model.metrics["test"]
        achievable = outcomes.get(spec.name, {}).get("achievable_auroc")
        slope = test.calibration_slope
        results[spec.name] = {
            "version": version,
            "read_seconds": round(read, 2),
            "training_seconds": round(model.seconds, 2),
            **model.counts,
            "test_auroc": round(test.auroc or 0, 4),
            "achievable_auroc": achievable,
            "auroc_at_least_achievable_minus_0_03": None
            if achievable is None or test.auroc is None
            else test.auroc >= achievable - 0.03,
            "calibration_slope": None if slope is None else round(slope, 3),
            "calibration_slope_se": round(test.calibration_slope_se or 0, 3),
            "calibration_slope_within_0_9_1_1": None if slope is None else 0.9 <= slope <= 1.1,
            "calibration_intercept": round(test.calibration_intercept or 0, 3),
            "test_auprc": round(test.auprc or 0, 4),
            "test_brier": round(test.brier or 0, 5),
        }
    return results


def _batch(
    warehouse: Warehouse, database: Database, registry: Registry, tenant: uuid.UUID
) -> dict[str, Any]:
    computed_at = datetime.now(UTC)
    began = time.perf_counter()
    written = 0
    scored_patients: set[uuid.UUID] = set()
    scoring_seconds = 0.0
    for spec in MODELS.values():
        model = registry.load(spec.name)
        started = time.perf_counter()
        with warehouse.connect() as client:
            batch = tenant_scores(client, model, tenant_id=tenant, computed_at=computed_at)
        scoring_seconds += time.perf_counter() - started
        scored_patients |= {s.patient_id for s in batch.scores}
        with database.transaction() as session:
            bind_tenant(session, tenant)
            written += record_scores(
                session=session, tenant_id=tenant, scores=batch.scores, actor=ACTOR
            )
    seconds = time.perf_counter() - began
    return {
        "scores_written": written,
        "patients_scored": len(scored_patients),
        "seconds": round(seconds, 2),
        "patients_per_second": round(len(scored_patients) / seconds, 1),
        "scores_per_second": round(written / seconds, 1),
        "scoring_only_scores_per_second": round(written / scoring_seconds, 1),
    }


def _on_demand(
    warehouse: Warehouse, database: Database, registry: Registry, tenant: uuid.UUID, count: int
) -> dict[str, Any]:
    with warehouse.connect() as client:
        units = mart_units(client, MODELS["incident_t2d_1y"], tenants=[tenant], scoring=True)
    rng = np.random.default_rng(0)
    patients = [
        uuid.UUID(p) for p in rng.choice(units["patient_id"].to_list(), count, replace=False)
    ]
    # The population's record ends the day before AS_OF: score as of its midnight.
    at = datetime.combine(AS_OF, clock(0), tzinfo=UTC)
    registry.load("incident_t2d_1y")  # warm the verified-model cache, as a running API has
    full, compute_only = [], []
    for patient_id in patients:
        began = time.perf_counter()
        with database.transaction() as session:
            bind_tenant(session, tenant)
            score_patient(
                session=session,
                tenant_id=tenant,
                patient_id=patient_id,
                registry=registry,
                actor=ACTOR,
                models=["incident_t2d_1y"],
                at=at,
            )
        full.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        with database.transaction() as session:
            bind_tenant(session, tenant)
            model = registry.load("incident_t2d_1y")
            patient = find_patient(session=session, tenant_id=tenant, patient_id=patient_id)
            unit = record_unit(
                spec=model.spec, session=session, tenant_id=tenant, patient=patient, at=at
            )
            score_inputs(model, unit.as_inputs())
        compute_only.append((time.perf_counter() - began) * 1000)
    return {
        "patients": count,
        "p50_ms": _percentile(full, 50),
        "p99_ms": _percentile(full, 99),
        "mean_ms": round(statistics.fmean(full), 2),
        "without_store_p50_ms": _percentile(compute_only, 50),
        "without_store_p99_ms": _percentile(compute_only, 99),
        "target_p99_ms": 10,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--slug", default=SLUG, help="the tenant to seed, or reuse")
    parser.add_argument(
        "--outcomes",
        type=Path,
        default=None,
        help="for a tenant seeded elsewhere: the JSON its seeding printed (achievable AUROC)",
    )
    parser.add_argument("--on-demand", type=int, default=300, help="patients scored one by one")
    args = parser.parse_args()
    state = args.state_dir or Path(tempfile.mkdtemp(prefix="emr-risk-bench-"))
    state.mkdir(parents=True, exist_ok=True)
    settings = Settings(state_dir=state, warehouse_url=None, warehouse_lock_timeout_seconds=600)
    database = Database(resolve_urls(settings))
    figures: dict[str, Any] = {"cores": os.cpu_count(), "patients": args.patients}
    try:
        upgrade(database, app_role=settings.app_db_role)
        figures |= _prepare(
            settings,
            database,
            slug=args.slug,
            patients=args.patients,
            seed=args.seed,
            outcomes=_outcomes(args.outcomes),
        )
        tenant = tenant_for(database, args.slug).id
        warehouse = Warehouse.from_settings(settings)
        registry = Registry.from_settings(settings)
        figures["training"] = _training(warehouse, registry, tenant, figures["outcomes"])
        figures["batch"] = _batch(warehouse, database, registry, tenant)
        figures["on_demand"] = _on_demand(warehouse, database, registry, tenant, args.on_demand)
    finally:
        database.dispose()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
