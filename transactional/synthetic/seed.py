"""Generating a tenant's population and loading it: what `emr seed` runs.

The data is a pure function of (seed, tenant slug, number of patients, as-of date, the MRN
numbers the tenant's sequence hands out): on a fresh tenant the same command writes the same
rows, byte for byte.
"""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from transactional.database import Database
from transactional.errors import Conflict, InvalidInput
from transactional.identity.models import Tenant
from transactional.identity.tenants import ensure_tenant
from transactional.patients.models import Patient, Payer
from transactional.providers.models import Department
from transactional.synthetic import achievable, model
from transactional.synthetic.clinic import build_clinic
from transactional.synthetic.history import History, Simulation
from transactional.synthetic.ids import stream
from transactional.synthetic.load import LoadReport, load_population
from transactional.synthetic.people import draw_people
from transactional.synthetic.tables import Context, build
from transactional.tenancy import bind_tenant

MAX_PATIENTS = 2_000_000


@dataclass
class Population:
    tables: dict[str, pl.DataFrame]
    history: History

    def outcomes(self) -> dict[str, dict[str, float | int]]:
        """Outcome rates and the achievable AUROC on this population (complete windows)."""
        summary: dict[str, dict[str, float | int]] = {}
        for name, cohort in (
            ("incident_t2d_1y", self.history.t2d_cohort),
            ("readmission_30d", self.history.readmission_cohort),
        ):
            if not len(cohort):
                continue
            complete = cohort.get("complete").astype(bool)
            outcome = cohort.get("outcome").astype(bool)[complete]
            probability = cohort.get("probability").astype(np.float64)[complete]
            if outcome.any() and not outcome.all():
                summary[name] = achievable.summarize(probability, outcome).as_dict()
        return summary


def generate(
    *,
    seed: int,
    slug: str,
    tenant_id: uuid.UUID,
    patients: int,
    as_of: date,
    mrn_numbers: list[int],
) -> Population:
    if not 1 <= patients <= MAX_PATIENTS:
        raise InvalidInput(f"patients must be between 1 and {MAX_PATIENTS}")
    if len(mrn_numbers) != patients:
        raise ValueError("one MRN number per patient")
    start = date(as_of.year - model.HISTORY_YEARS, 1, 1)
    people = draw_people(stream(seed, slug, "people"), patients, as_of=as_of)
    clinic = build_clinic(
        stream(seed, slug, "clinic"),
        tenant_id=str(tenant_id),
        patients=patients,
        history_start=start,
    )
    history = Simulation(stream(seed, slug, "history"), people, clinic, as_of=as_of).run()
    context = Context(tenant_id=str(tenant_id), seed=seed, slug=slug, as_of=as_of, start=start)
    tables = build(
        people=people, clinic=clinic, chart=history, context=context, mrn_numbers=mrn_numbers
    )
    return Population(tables=tables, history=history)


@dataclass
class SeedResult:
    tenant: str
    patients: int
    generate_seconds: float
    load_seconds: float
    report: LoadReport
    outcomes: dict[str, dict[str, float | int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "patients": self.patients,
            "rows": self.report.total_rows,
            "generate_seconds": round(self.generate_seconds, 1),
            "load_seconds": round(self.load_seconds, 1),
            "tables": self.report.rows,
            "outcomes": self.outcomes,
        }


def tenant_for(database: Database, slug: str) -> Tenant:
    """The tenant with this slug, registered (as the owner) if it does not exist yet."""
    with Session(database.owner_engine, expire_on_commit=False) as session, session.begin():
        return ensure_tenant(owner_session=session, slug=slug, name=slug.replace("-", " ").title())[
            0
        ]


def seed_population(
    *,
    database: Database,
    slug: str,
    patients: int,
    seed: int,
    as_of: date,
    progress: Callable[[str, int, float], None] | None = None,
) -> SeedResult:
    tenant = tenant_for(database, slug)
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        # A population brings its whole clinic (staff, payers, fee schedules): only into a
        # tenant that holds nothing yet.
        for held in (Patient, Department, Payer):
            if session.scalar(select(func.count()).select_from(held)):
                raise Conflict(
                    f"tenant {slug!r} already holds records; "
                    "emr seed builds a whole clinic into an empty tenant"
                )
        numbers: Any = list(session.scalars(select(func.app_next_mrn(patients))))
    began = time.perf_counter()
    population = generate(
        seed=seed,
        slug=slug,
        tenant_id=tenant.id,
        patients=patients,
        as_of=as_of,
        mrn_numbers=numbers,
    )
    outcomes = population.outcomes()
    generated = time.perf_counter() - began
    began = time.perf_counter()
    report = load_population(
        database=database,
        tenant_id=tenant.id,
        tables=population.tables,
        batch=f"seed:{seed}:{patients}:{as_of.isoformat()}",
        progress=progress,
    )
    loaded = time.perf_counter() - began
    return SeedResult(
        tenant=slug,
        patients=patients,
        generate_seconds=generated,
        load_seconds=loaded,
        report=report,
        outcomes=outcomes,
    )
