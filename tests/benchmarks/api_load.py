"""HTTP load benchmark of the clinical API (issue 3). Not a test: run it by hand.

    .venv/bin/python -m tests.benchmarks.api_load --patients 100000 --clients 16 --seconds 20

It builds a throwaway embedded PostgreSQL (or uses EMR_DATABASE_URL's server, in a throwaway
database), seeds N patients with COPY, starts `emr serve` in its own process(es), and drives
it from this process with C concurrent HTTP clients. Reports requests/s, p50 and p99 per phase:
registrations, encounter-with-vitals writes, patient search at N patients (with C clients and
with one), and a mixed load.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import URL, create_engine, make_url, text
from sqlalchemy.orm import Session

from transactional.audit.trail import SYSTEM
from transactional.database import Database, resolve_urls
from transactional.identity.roles import Role
from transactional.identity.tenants import create_tenant
from transactional.identity.users import NewUser, create_user
from transactional.patients.mrn import format_mrn
from transactional.providers.directory import create_location
from transactional.providers.practitioners import NewPractitioner, create_practitioner
from transactional.schema import upgrade
from transactional.settings import Settings
from transactional.tenancy import bind_tenant

PASSWORD = "benchmark-password-1"
LOINC = "http://loinc.org"
_SYLLABLES = [
    "an",
    "ber",
    "car",
    "dal",
    "el",
    "fer",
    "gar",
    "hal",
    "is",
    "jor",
    "kel",
    "lan",
    "mar",
    "nor",
    "ol",
    "per",
    "quin",
    "ros",
    "sal",
    "tor",
    "ul",
    "val",
    "wes",
    "yor",
]
_GIVEN = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Maria",
    "Wei",
    "Aisha",
    "Mohammed",
    "Olga",
    "Kenji",
    "Priya",
    "Carlos",
]


def surname(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 3)))).capitalize()


def _server_env(owner: URL, state_dir: Path) -> dict[str, str]:
    return os.environ | {
        "EMR_DATABASE_URL": owner.render_as_string(hide_password=False),
        "EMR_STATE_DIR": str(state_dir),
        "EMR_TOKEN_RATE_LIMIT": "100000/minute",
        "EMR_LOG_LEVEL": "WARNING",
    }


def prepare(settings: Settings, patients: int) -> tuple[Database, dict[str, Any]]:
    database = Database(resolve_urls(settings))
    upgrade(database, app_role=settings.app_db_role)
    with Session(database.owner_engine, expire_on_commit=False) as session, session.begin():
        tenant = create_tenant(owner_session=session, name=f"Bench {uuid.uuid4().hex[:6]}")
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        users = {
            role: create_user(
                session=session,
                tenant_id=tenant.id,
                data=NewUser(email=f"{role.value}@bench.example", role=role, password=PASSWORD),
                actor=SYSTEM,
                password_min_length=12,
            ).email
            for role in (Role.RECEPTIONIST, Role.PHYSICIAN, Role.NURSE)
        }
        location = create_location(
            session=session, tenant_id=tenant.id, name="Bench room", time_zone="UTC", actor=SYSTEM
        )
        practitioner = create_practitioner(
            session=session,
            tenant_id=tenant.id,
            data=NewPractitioner(
                display_name="Dr. Bench",
                npi=None,
                specialty_codes=["207Q00000X"],
                department_id=None,
                user_id=None,
            ),
            actor=SYSTEM,
        )
    seed_patients(database, tenant.id, patients)
    return database, {
        "tenant": tenant.slug,
        "users": users,
        "location_id": str(location.id),
        "practitioner_id": str(practitioner.id),
    }


def seed_patients(database: Database, tenant_id: uuid.UUID, count: int) -> None:
    """COPY `count` synthetic patients (no audit events: this is benchmark set-up, not care)."""
    rng = random.Random(42)
    now = datetime.now(UTC)
    started = time.perf_counter()
    raw = database.owner_engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant_id),))
        columns = (
            "id, tenant_id, mrn, given_name, family_name, birth_date, sex, phone, phone_digits, "
            "is_deleted, created_at, updated_at, version"
        )
        with cursor.copy(f"COPY patients ({columns}) FROM STDIN") as copy:
            for n in range(1, count + 1):
                digits = f"555{rng.randrange(10**7):07d}"
                copy.write_row(
                    (
                        uuid.uuid4(),
                        tenant_id,
                        format_mrn(n),
                        rng.choice(_GIVEN),
                        surname(rng),
                        date(1930, 1, 1) + timedelta(days=rng.randrange(33_000)),
                        rng.choice(("female", "male")),
                        digits,
                        digits,
                        False,
                        now,
                        now,
                        1,
                    )
                )
        cursor.execute("SELECT setval(app_mrn_sequence_name(%s)::regclass, %s)", (tenant_id, count))
        cursor.execute("ANALYZE patients")
        raw.commit()
    finally:
        raw.close()
    print(f"seeded {count} patients in {time.perf_counter() - started:.1f}s", file=sys.stderr)


class Recorder:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)

    async def timed(
        self, name: str, call: Awaitable[httpx.Response], expect: int
    ) -> httpx.Response:
        began = time.perf_counter()
        response = await call
        self.latencies[name].append(time.perf_counter() - began)
        if response.status_code != expect:
            self.errors[f"{name} {response.status_code}"] += 1
        return response


def summarize(phase: str, recorder: Recorder, elapsed: float) -> dict[str, Any]:
    every = [x for values in recorder.latencies.values() for x in values]
    result: dict[str, Any] = {
        "phase": phase,
        "requests": len(every),
        "requests_per_s": round(len(every) / elapsed, 1),
        "p50_ms": round(statistics.median(every) * 1000, 1) if every else None,
        "p99_ms": round(statistics.quantiles(every, n=100)[98] * 1000, 1)
        if len(every) > 100
        else None,
        "errors": dict(recorder.errors),
        "by_request": {
            name: {
                "count": len(values),
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "p99_ms": round(statistics.quantiles(values, n=100)[98] * 1000, 1)
                if len(values) > 100
                else None,
            }
            for name, values in recorder.latencies.items()
        },
    }
    print(json.dumps(result), flush=True)
    return result


async def run_phase(
    phase: str,
    clients: int,
    seconds: float,
    operation: Callable[[Recorder, random.Random], Awaitable[None]],
) -> dict[str, Any]:
    recorder = Recorder()
    deadline = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        rng = random.Random(index)
        while time.perf_counter() < deadline:
            await operation(recorder, rng)

    began = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    return summarize(phase, recorder, time.perf_counter() - began)


async def drive(
    base: str, setup: dict[str, Any], clients: int, seconds: float, patients: int
) -> list[dict[str, Any]]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:

        async def token(role: Role) -> dict[str, str]:
            response = await http.post(
                "/api/v1/auth/token",
                data={
                    "username": setup["users"][role],
                    "password": PASSWORD,
                    "tenant": setup["tenant"],
                },
            )
            response.raise_for_status()
            return {"Authorization": f"Bearer {response.json()['access_token']}"}

        desk = await token(Role.RECEPTIONIST)
        doctor = await token(Role.PHYSICIAN)
        nurse = await token(Role.NURSE)
        known_ids: list[str] = []
        encounters: list[str] = []

        async def register(rec: Recorder, rng: random.Random) -> None:
            body = {
                "given_name": rng.choice(_GIVEN),
                "family_name": surname(rng),
                "sex": "female",
                "birth_date": (
                    date(1940, 1, 1) + timedelta(days=rng.randrange(25_000))
                ).isoformat(),
            }
            response = await rec.timed(
                "POST /patients", http.post("/api/v1/patients", json=body, headers=desk), 201
            )
            if response.status_code == 201:
                known_ids.append(response.json()["id"])

        async def encounter_with_vitals(rec: Recorder, rng: random.Random) -> None:
            body = {
                "patient_id": rng.choice(known_ids),
                "practitioner_id": setup["practitioner_id"],
                "location_id": setup["location_id"],
            }
            opened = await rec.timed(
                "POST /encounters", http.post("/api/v1/encounters", json=body, headers=doctor), 201
            )
            if opened.status_code != 201:
                return
            encounter_id = opened.json()["id"]
            encounters.append(encounter_id)
            await vitals(rec, rng, encounter_id)

        async def vitals(rec: Recorder, rng: random.Random, encounter_id: str) -> None:
            observations = [
                {
                    "code": {"system": LOINC, "code": "8480-6"},
                    "value": rng.randint(100, 160),
                    "unit": "mm[Hg]",
                },
                {
                    "code": {"system": LOINC, "code": "8462-4"},
                    "value": rng.randint(60, 95),
                    "unit": "mm[Hg]",
                },
                {
                    "code": {"system": LOINC, "code": "8867-4"},
                    "value": rng.randint(55, 110),
                    "unit": "/min",
                },
                {
                    "code": {"system": LOINC, "code": "29463-7"},
                    "value": rng.randint(50, 120),
                    "unit": "kg",
                },
            ]
            await rec.timed(
                "POST /encounters/{id}/vitals",
                http.post(
                    f"/api/v1/encounters/{encounter_id}/vitals",
                    json={"observations": observations},
                    headers=nurse,
                ),
                201,
            )

        async def search(rec: Recorder, rng: random.Random) -> None:
            kind = rng.random()
            if kind < 0.6:
                params: dict[str, str | int] = {"q": surname(rng), "limit": 20}
                name = "GET /patients?q=name"
            elif kind < 0.8:
                params = {
                    "birth_date": (
                        date(1930, 1, 1) + timedelta(days=rng.randrange(33_000))
                    ).isoformat()
                }
                name = "GET /patients?birth_date="
            else:
                params = {"mrn": format_mrn(rng.randrange(1, patients + 1))}
                name = "GET /patients?mrn="
            await rec.timed(name, http.get("/api/v1/patients", params=params, headers=desk), 200)

        async def mixed(rec: Recorder, rng: random.Random) -> None:
            roll = rng.random()
            if roll < 0.30:
                await rec.timed(
                    "GET /patients/{id}",
                    http.get(f"/api/v1/patients/{rng.choice(known_ids)}", headers=desk),
                    200,
                )
            elif roll < 0.65:
                await search(rec, rng)
            elif roll < 0.80:
                await register(rec, rng)
            else:
                await vitals(rec, rng, rng.choice(encounters))

        results = [await run_phase("registrations", clients, seconds, register)]
        results.append(
            await run_phase("encounter-with-vitals", clients, seconds, encounter_with_vitals)
        )
        results.append(await run_phase(f"search at {patients} patients", clients, seconds, search))
        # The same searches one at a time: what the query costs, without queueing for a core.
        results.append(
            await run_phase(f"search at {patients} patients, 1 client", 1, seconds, search)
        )
        results.append(await run_phase("mixed read/write", clients, seconds, mixed))
        return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2, help="API server processes")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--output", type=Path, help="write the results as JSON here")
    args = parser.parse_args()

    state_dir = Path(tempfile.mkdtemp(prefix="emr-bench-"))
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
    database, setup = prepare(settings, args.patients)
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
        results = asyncio.run(drive(base, setup, args.clients, args.seconds, args.patients))
    finally:
        server_process.terminate()
        server_process.wait(timeout=30)
        database.dispose()
        if scratch is not None:
            with create_engine(scratch[0], isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch[1]}" WITH (FORCE)'))
    report = {
        "cores": os.cpu_count(),
        "clients": args.clients,
        "workers": args.workers,
        "patients": args.patients,
        "seconds_per_phase": args.seconds,
        "phases": results,
    }
    if args.output:
        args.output.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
