"""Prescribing-check latency (issue: prescribing with safety checks). Not a test: run it by hand.

    .venv/bin/python -m tests.benchmarks.prescribing_checks --iterations 2000 --posts 300

It builds a throwaway embedded PostgreSQL (or uses EMR_DATABASE_URL's server, in a throwaway
database), gives one patient 20 active medications and three allergies, and measures:

- the pure check (`transactional.medications.checks.check`): active medications + allergies
  + candidate -> findings, in process, for a rotation of candidate drugs;
- the full `POST /api/v1/patients/{id}/prescriptions` through `emr serve` over HTTP (sign-in
  excluded), each prescription cancelled afterwards, untimed, so the list stays at 20.

Prints one JSON document (p50/p99 in milliseconds); the target is p99 <= 20 ms for the check.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import URL, create_engine, make_url, text
from sqlalchemy.orm import Session

from transactional.audit.trail import SYSTEM, Actor
from transactional.database import Database, resolve_urls
from transactional.identity.roles import Role
from transactional.identity.tenants import create_tenant
from transactional.identity.users import NewUser, create_user
from transactional.medications.checks import check
from transactional.medications.knowledge import knowledge_base
from transactional.medications.medication_list import allergy_facts, medication_facts
from transactional.medications.prescriptions import NewPrescription, prescribe
from transactional.patients.allergies import NewAllergy, record_allergy
from transactional.patients.registry import Demographics, register_patient
from transactional.schema import upgrade
from transactional.settings import Settings
from transactional.tenancy import bind_tenant

PASSWORD = "benchmark-password-1"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
# Twenty drugs a patient with diabetes, heart disease and COPD might take together; some
# pairs give major or moderate findings, none a critical one.
ACTIVE = (
    "29046", "6809", "83367", "17767", "7646", "10582", "36437", "6918", "435", "41126",
    "36117", "4603", "9997", "1191", "32968", "4821", "161", "88249", "69120", "274783",
)  # fmt: skip
ALLERGIES = ((RXNORM, "7984"), (SNOMED, "387406002"), (SNOMED, "387494007"))
CANDIDATES = ("2551", "2231", "11289", "5640", "18631", "1049625", "562251", "4450")


def _server_env(owner: URL, state_dir: Path) -> dict[str, str]:
    return os.environ | {
        "EMR_DATABASE_URL": owner.render_as_string(hide_password=False),
        "EMR_STATE_DIR": str(state_dir),
        "EMR_TOKEN_RATE_LIMIT": "100000/minute",
        "EMR_LOG_LEVEL": "WARNING",
    }


def prepare(settings: Settings) -> tuple[Database, dict[str, Any]]:
    database = Database(resolve_urls(settings))
    upgrade(database, app_role=settings.app_db_role)
    with Session(database.owner_engine, expire_on_commit=False) as session, session.begin():
        tenant = create_tenant(owner_session=session, name=f"Bench {uuid.uuid4().hex[:6]}")
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        physician = create_user(
            session=session,
            tenant_id=tenant.id,
            data=NewUser(email="physician@bench.example", role=Role.PHYSICIAN, password=PASSWORD),
            actor=SYSTEM,
            password_min_length=12,
        )
        patient = register_patient(
            session=session,
            tenant_id=tenant.id,
            data=Demographics(
                given_name="Bench",
                family_name="Patient",
                birth_date=date(1955, 3, 1),
                sex="female",
            ),
            actor=SYSTEM,
        )
        for system, code in ALLERGIES:
            record_allergy(
                session=session,
                tenant_id=tenant.id,
                patient_id=patient.id,
                data=NewAllergy(system=system, code=code, severity="severe"),
                actor=SYSTEM,
            )
        actor = Actor(user_id=physician.id, role=Role.PHYSICIAN.value)
        for code in ACTIVE:
            prescribe(
                session=session,
                tenant_id=tenant.id,
                patient_id=patient.id,
                data=NewPrescription(RXNORM, code, "1 tablet", "oral", "daily"),
                actor=actor,
            )
    return database, {"tenant": tenant, "patient_id": patient.id, "email": physician.email}


def _summary(samples: list[float]) -> dict[str, Any]:
    return {
        "count": len(samples),
        "p50_ms": round(statistics.median(samples) * 1000, 3),
        "p99_ms": round(statistics.quantiles(samples, n=100)[98] * 1000, 3),
        "max_ms": round(max(samples) * 1000, 3),
    }


def bench_check(database: Database, setup: dict[str, Any], iterations: int) -> dict[str, Any]:
    tenant = setup["tenant"]
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        active = medication_facts(session, tenant.id, setup["patient_id"])
        allergies = allergy_facts(session, tenant.id, setup["patient_id"])
    kb = knowledge_base()
    candidates = [kb.medications[code] for code in CANDIDATES]
    findings = {
        c.code: len(check(candidate=c, active=active, allergies=allergies)) for c in candidates
    }
    samples = []
    for n in range(iterations):
        candidate = candidates[n % len(candidates)]
        began = time.perf_counter()
        check(candidate=candidate, active=active, allergies=allergies)
        samples.append(time.perf_counter() - began)
    return {
        "active_medications": len(active),
        "allergies": len(allergies),
        "findings_per_candidate": findings,
        **_summary(samples),
    }


def bench_post(base: str, setup: dict[str, Any], posts: int) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=30) as http:
        token = http.post(
            "/api/v1/auth/token",
            data={"username": setup["email"], "password": PASSWORD, "tenant": setup["tenant"].slug},
        )
        token.raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        url = f"/api/v1/patients/{setup['patient_id']}/prescriptions"
        samples: list[float] = []
        statuses: dict[str, int] = {}
        for n in range(posts + 20):
            body = {
                "medication": {"system": RXNORM, "code": CANDIDATES[n % len(CANDIDATES)]},
                "dose": "1 tablet",
                "route": "PO",
                "frequency": "BID",
            }
            began = time.perf_counter()
            response = http.post(url, json=body, headers=headers)
            elapsed = time.perf_counter() - began
            statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
            if response.status_code == 201:
                http.post(
                    f"/api/v1/prescriptions/{response.json()['id']}/cancel",
                    json={"reason": "benchmark"},
                    headers=headers,
                )
            if n >= 20:  # the first requests warm connections and caches
                samples.append(elapsed)
    return {"statuses": statuses, **_summary(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--port", type=int, default=8792)
    args = parser.parse_args()

    state_dir = Path(tempfile.mkdtemp(prefix="emr-bench-rx-"))
    settings = Settings(state_dir=state_dir)
    scratch: tuple[URL, str] | None = None
    if settings.database_url is not None:
        server = make_url(settings.database_url.get_secret_value())
        name = f"emr_bench_{uuid.uuid4().hex[:8]}"
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
    database, setup = prepare(settings)
    report: dict[str, Any] = {"cores": os.cpu_count(), "target_check_p99_ms": 20}
    report["pure_check"] = bench_check(database, setup, args.iterations)
    server_process = subprocess.Popen(
        [str(Path(sys.executable).with_name("emr")), "serve", "--port", str(args.port)],
        env=_server_env(database.urls.owner, state_dir),
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        report["post_prescription"] = bench_post(base, setup, args.posts)
    finally:
        server_process.terminate()
        server_process.wait(timeout=30)
        database.dispose()
        if scratch is not None:
            with create_engine(scratch[0], isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch[1]}" WITH (FORCE)'))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
