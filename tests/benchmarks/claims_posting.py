"""Claims posting benchmark (billing issue). Not a test: run it by hand.

    .venv/bin/python -m tests.benchmarks.claims_posting --claims 300 --clients 4

It builds a throwaway embedded PostgreSQL (or uses EMR_DATABASE_URL's server, in a throwaway
database), seeds a clinic with finished encounters (two procedures, two ranked diagnoses,
an insured patient), then times whole claim cycles: capture charges -> draft claim -> submit
(offline gateway) -> payer acceptance -> remittance (payment, CO-45, PR-2) -> claim paid.
First through the services, C threads each running every step in its own transaction as the
API does; then through the HTTP API (`emr serve` in its own process(es)) with C concurrent
clients. Prints one JSON line per phase: claims per second, cycle and step latencies.
"""

import argparse
import asyncio
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import URL, create_engine, make_url, text
from sqlalchemy.orm import Session

from transactional.audit.trail import SYSTEM, Actor
from transactional.billing.capture import capture_charges
from transactional.billing.claims import accept_claim, create_claim, submit_claim
from transactional.billing.fee_schedules import Fee, NewFeeSchedule, create_fee_schedule
from transactional.billing.gateway import OfflineClaimGateway
from transactional.billing.remittances import (
    CasAdjustment,
    NewRemittance,
    RemittedClaim,
    post_remittance,
)
from transactional.charting.codes import CPT, ICD10CM
from transactional.charting.conditions import NewCondition, add_diagnosis
from transactional.charting.encounters import NewEncounter, open_encounter, transition
from transactional.charting.procedures import NewProcedure, add_procedure
from transactional.database import Database, resolve_urls
from transactional.identity.roles import Role
from transactional.identity.tenants import create_tenant
from transactional.identity.users import NewUser, create_user
from transactional.patients.coverage import NewCoverage, add_coverage, create_payer
from transactional.patients.registry import Demographics, register_patient
from transactional.providers.directory import create_location
from transactional.providers.practitioners import NewPractitioner, create_practitioner
from transactional.schema import upgrade
from transactional.settings import Settings
from transactional.tenancy import bind_tenant

PASSWORD = "benchmark-password-1"
NPI = "1234567893"
PATIENTS = 50
ENCOUNTERS_PER_TRANSACTION = 25
# 99213 + 36415 at the payer's prices: 125.00 + 15.00; the payer pays 110, CO-45 20, PR-2 10.
PAYER_FEES = {"99213": 12_500, "36415": 1_500}
PAID, CONTRACTUAL, COINSURANCE = 11_000, 2_000, 1_000


def prepare(database: Database, encounters: int) -> dict[str, Any]:
    """A tenant, a biller, an insured panel and `encounters` finished encounters."""
    with Session(database.owner_engine, expire_on_commit=False) as session, session.begin():
        tenant = create_tenant(owner_session=session, name=f"Bench {uuid.uuid4().hex[:6]}")
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        biller = create_user(
            session=session,
            tenant_id=tenant.id,
            data=NewUser(email="billing@bench.example", role=Role.BILLING, password=PASSWORD),
            actor=SYSTEM,
            password_min_length=12,
        )
        location = create_location(
            session=session, tenant_id=tenant.id, name="Bench room", time_zone="UTC", actor=SYSTEM
        )
        practitioner = create_practitioner(
            session=session,
            tenant_id=tenant.id,
            data=NewPractitioner(display_name="Dr. Bench", npi=NPI, specialty_codes=["207Q00000X"]),
            actor=SYSTEM,
        )
        payer = create_payer(
            session=session,
            tenant_id=tenant.id,
            name="Bench Health",
            payer_type="commercial",
            external_id="60054",
            actor=SYSTEM,
        )
        create_fee_schedule(
            session=session,
            tenant_id=tenant.id,
            data=NewFeeSchedule(
                name="Bench Health",
                payer_id=payer.id,
                effective_from=date(2020, 1, 1),
                fees=tuple(Fee(CPT, code, cents) for code, cents in PAYER_FEES.items()),
            ),
            actor=SYSTEM,
        )
        patients = []
        for n in range(PATIENTS):
            patient = register_patient(
                session=session,
                tenant_id=tenant.id,
                data=Demographics(
                    given_name="Bench",
                    family_name=f"Patient{n}",
                    birth_date=date(1950, 1, 1) + timedelta(days=97 * n),
                    sex="female",
                ),
                actor=SYSTEM,
            )
            add_coverage(
                session=session,
                tenant_id=tenant.id,
                patient_id=patient.id,
                data=NewCoverage(
                    payer_id=payer.id, member_id=f"M{n:08d}", period_start=date(2020, 1, 1)
                ),
                actor=SYSTEM,
            )
            patients.append(patient.id)
    started = time.perf_counter()
    encounter_ids = []
    for first in range(0, encounters, ENCOUNTERS_PER_TRANSACTION):
        with database.transaction() as session:
            bind_tenant(session, tenant.id)
            for n in range(first, min(first + ENCOUNTERS_PER_TRANSACTION, encounters)):
                encounter_ids.append(
                    finished_encounter(
                        session, tenant.id, patients[n % PATIENTS], practitioner.id, location.id
                    )
                )
    print(
        f"seeded {encounters} encounters in {time.perf_counter() - started:.1f}s", file=sys.stderr
    )
    return {
        "tenant_id": tenant.id,
        "tenant": tenant.slug,
        "biller_id": biller.id,
        "biller_email": biller.email,
        "payer_id": payer.id,
        "encounters": encounter_ids,
    }


def finished_encounter(
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    practitioner_id: uuid.UUID,
    location_id: uuid.UUID,
) -> uuid.UUID:
    start = datetime.now(UTC) - timedelta(hours=2)
    encounter = open_encounter(
        session=session,
        tenant_id=tenant_id,
        data=NewEncounter(
            patient_id=patient_id,
            practitioner_id=practitioner_id,
            location_id=location_id,
            start_at=start,
        ),
        actor=SYSTEM,
    )
    for code, rank in (("E11.9", 1), ("I10", 2)):
        add_diagnosis(
            session=session,
            tenant_id=tenant_id,
            encounter_id=encounter.id,
            data=NewCondition(system=ICD10CM, code=code, rank=rank),
            actor=SYSTEM,
        )
    for code in PAYER_FEES:
        add_procedure(
            session=session,
            tenant_id=tenant_id,
            encounter_id=encounter.id,
            data=NewProcedure(system=CPT, code=code, performed_at=start + timedelta(minutes=5)),
            actor=SYSTEM,
        )
    transition(
        session=session,
        tenant_id=tenant_id,
        encounter_id=encounter.id,
        action="finish",
        actor=SYSTEM,
    )
    return encounter.id


def percentile(values: list[float], q: int) -> float | None:
    if len(values) < 2:
        return None
    return round(statistics.quantiles(values, n=100)[q - 1] * 1000, 1)


def report(
    phase: str,
    claims: int,
    elapsed: float,
    cycles: list[float],
    steps: dict[str, list[float]],
    errors: dict[str, int],
) -> dict[str, Any]:
    result = {
        "phase": phase,
        "claims": claims,
        "seconds": round(elapsed, 2),
        "claims_per_s": round(claims / elapsed, 1),
        "cycle_p50_ms": round(statistics.median(cycles) * 1000, 1) if cycles else None,
        "cycle_p99_ms": percentile(cycles, 99),
        "errors": errors,
        "by_step": {
            name: {
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "p99_ms": percentile(values, 99),
            }
            for name, values in steps.items()
        },
    }
    print(json.dumps(result), flush=True)
    return result


def through_services(
    database: Database, setup: dict[str, Any], encounters: list[uuid.UUID], clients: int
) -> dict[str, Any]:
    tenant_id: uuid.UUID = setup["tenant_id"]
    actor = Actor(user_id=setup["biller_id"], role="billing")
    gateway = OfflineClaimGateway()
    work: queue.SimpleQueue[uuid.UUID] = queue.SimpleQueue()
    for encounter_id in encounters:
        work.put(encounter_id)
    steps: dict[str, list[float]] = defaultdict(list)
    cycles: list[float] = []
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()

    def step(name: str, call: Callable[[Session], Any]) -> Any:
        began = time.perf_counter()
        with database.transaction() as session:
            bind_tenant(session, tenant_id)
            result = call(session)
        with lock:
            steps[name].append(time.perf_counter() - began)
        return result

    def cycle(encounter_id: uuid.UUID) -> None:
        invoice = step(
            "capture",
            lambda s: (
                capture_charges(
                    session=s, tenant_id=tenant_id, encounter_id=encounter_id, actor=actor
                ).invoice
            ),
        )
        claim = step(
            "claim",
            lambda s: (
                create_claim(
                    session=s, tenant_id=tenant_id, invoice_id=invoice.id, actor=actor
                ).claim
            ),
        )
        step(
            "submit",
            lambda s: submit_claim(
                session=s, tenant_id=tenant_id, claim_id=claim.id, gateway=gateway, actor=actor
            ),
        )
        step(
            "accept",
            lambda s: accept_claim(session=s, tenant_id=tenant_id, claim_id=claim.id, actor=actor),
        )
        posted = step(
            "remittance",
            lambda s: post_remittance(
                session=s,
                tenant_id=tenant_id,
                data=NewRemittance(
                    payer_id=setup["payer_id"],
                    reference=f"EFT-{claim.id.hex[:16]}",
                    received_on=date.today(),
                    method="eft",
                    claims=(
                        RemittedClaim(
                            claim.id,
                            PAID,
                            (
                                CasAdjustment("CO", "45", CONTRACTUAL),
                                CasAdjustment("PR", "2", COINSURANCE),
                            ),
                        ),
                    ),
                ),
                actor=actor,
            ),
        )
        if posted.claims[0].claim.status != "paid":
            raise RuntimeError("the claim did not end paid")

    def worker() -> None:
        while True:
            try:
                encounter_id = work.get_nowait()
            except queue.Empty:
                return
            began = time.perf_counter()
            try:
                cycle(encounter_id)
            except Exception as error:  # counted, not raised: the run goes on
                with lock:
                    errors[type(error).__name__] += 1
                continue
            with lock:
                cycles.append(time.perf_counter() - began)

    began = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return report("services", len(cycles), elapsed, cycles, steps, dict(errors))


async def through_http(
    base: str, setup: dict[str, Any], encounters: list[uuid.UUID], clients: int
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    steps: dict[str, list[float]] = defaultdict(list)
    cycles: list[float] = []
    errors: dict[str, int] = defaultdict(int)
    pending = list(reversed(encounters))
    today = date.today().isoformat()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        signed_in = await http.post(
            "/api/v1/auth/token",
            data={
                "username": setup["biller_email"],
                "password": PASSWORD,
                "tenant": setup["tenant"],
            },
        )
        signed_in.raise_for_status()
        headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}

        async def call(name: str, path: str, body: Any, expect: int) -> dict[str, Any]:
            began = time.perf_counter()
            response = await http.post(path, json=body, headers=headers)
            steps[name].append(time.perf_counter() - began)
            if response.status_code != expect:
                raise RuntimeError(f"{name} {response.status_code}")
            answer: dict[str, Any] = response.json()
            return answer

        async def cycle(encounter_id: uuid.UUID) -> None:
            captured = await call(
                "POST /encounters/{id}/charges",
                f"/api/v1/encounters/{encounter_id}/charges",
                None,
                201,
            )
            claim = await call(
                "POST /claims", "/api/v1/claims", {"invoice_id": captured["invoice"]["id"]}, 201
            )
            await call(
                "POST /claims/{id}/submit", f"/api/v1/claims/{claim['id']}/submit", None, 200
            )
            await call(
                "POST /claims/{id}/accept", f"/api/v1/claims/{claim['id']}/accept", None, 200
            )
            remitted = await call(
                "POST /remittances",
                "/api/v1/remittances",
                {
                    "payer_id": str(setup["payer_id"]),
                    "reference": f"EFT-{claim['id'][:18]}",
                    "received_on": today,
                    "claims": [
                        {
                            "claim_id": claim["id"],
                            "paid": f"{PAID / 100:.2f}",
                            "adjustments": [
                                {
                                    "group_code": "CO",
                                    "reason_code": "45",
                                    "amount": f"{CONTRACTUAL / 100:.2f}",
                                },
                                {
                                    "group_code": "PR",
                                    "reason_code": "2",
                                    "amount": f"{COINSURANCE / 100:.2f}",
                                },
                            ],
                        }
                    ],
                },
                201,
            )
            if remitted["claims"][0]["status"] != "paid":
                raise RuntimeError("the claim did not end paid")

        async def worker() -> None:
            while pending:
                encounter_id = pending.pop()
                began = time.perf_counter()
                try:
                    await cycle(encounter_id)
                except RuntimeError as error:
                    errors[str(error)] += 1
                    continue
                cycles.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    return report("http", len(cycles), elapsed, cycles, steps, dict(errors))


def _server_env(owner: URL, state_dir: Path) -> dict[str, str]:
    return os.environ | {
        "EMR_DATABASE_URL": owner.render_as_string(hide_password=False),
        "EMR_STATE_DIR": str(state_dir),
        "EMR_TOKEN_RATE_LIMIT": "100000/minute",
        "EMR_LOG_LEVEL": "WARNING",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--claims", type=int, default=300, help="claim cycles per phase")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="API server processes")
    parser.add_argument("--port", type=int, default=8792)
    parser.add_argument("--output", type=Path, help="write the results as JSON here")
    args = parser.parse_args()

    state_dir = Path(tempfile.mkdtemp(prefix="emr-claims-bench-"))
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
    database = Database(resolve_urls(settings))
    upgrade(database, app_role=settings.app_db_role)
    setup = prepare(database, 2 * args.claims)
    services_part, http_part = (
        setup["encounters"][: args.claims],
        setup["encounters"][args.claims :],
    )
    results = [through_services(database, setup, services_part, args.clients)]
    server_process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("emr")),
            "serve",
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
        ],
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
        results.append(asyncio.run(through_http(base, setup, http_part, args.clients)))
    finally:
        server_process.terminate()
        server_process.wait(timeout=30)
        database.dispose()
        if scratch is not None:
            with create_engine(scratch[0], isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch[1]}" WITH (FORCE)'))
    report_all = {
        "cores": os.cpu_count(),
        "clients": args.clients,
        "workers": args.workers,
        "claims_per_phase": args.claims,
        "phases": results,
    }
    if args.output:
        args.output.write_text(json.dumps(report_all, indent=2, default=str))


if __name__ == "__main__":
    main()
