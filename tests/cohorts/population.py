"""A hand-built population whose cohort membership is known patient by patient, and the
warehouse built from it (full resync, then dbt for the models cohorts read).

Every record goes through the real services. Entry diagnoses are dated in the past (problem
list onset); prescriptions, lab results and encounters happen at their own times, so each
group below sits on a known side of each rule's window:

| group      | n  | what                                             | fate in T2D_TEST          |
|------------|----|--------------------------------------------------|---------------------------|
| member     | 15 | E11.9 40 days ago, metformin, HbA1c >= 8 now      | member                    |
| low_a1c    | 12 | as member but HbA1c 7.2                           | removed by the HbA1c rule |
| late_drug  | 11 | E11.9 200 days ago (metformin now is too late)    | removed by metformin rule |
| no_drug    |  3 | no metformin                                      | removed by metformin rule |
| old_onset  |  1 | E11.65 400 days ago and E11.9 40 days ago         | removed by metformin rule |
| teenager   | 11 | 16 years old at entry                             | removed by the adult rule |
| ckd        | 11 | CKD (N18.31) a year before entry                  | excluded                  |
| htn_only   |  2 | hypertension, no diabetes                         | no entry                  |
| deleted    |  1 | as member, then deleted                           | no entry                  |

Four members visit the emergency department 10 days after entry and one 35 days after, so
`ed_visit_30d` occurs for exactly four. Three members have coronary disease and clopidogrel
and a CYP2C19 phenotype (poor, intermediate, normal metabolizer).
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from pipelines.replication import full_resync
from tests.factories.identity import make_tenant, make_user
from tests.factories.scheduling import make_practitioner
from transactional.audit.trail import SYSTEM, Actor
from transactional.base import utcnow
from transactional.charting.conditions import NewCondition, add_problem
from transactional.charting.encounters import NewEncounter, open_encounter
from transactional.database import Database
from transactional.identity.models import Tenant
from transactional.identity.roles import Role
from transactional.medications.prescriptions import NewPrescription, prescribe
from transactional.medications.types import RXNORM
from transactional.orders.ordering import NewOrder, place_order
from transactional.orders.results import ResultEntry, record_results
from transactional.orders.workflow import collect_specimen
from transactional.patients.registry import Demographics, delete_patient, register_patient
from transactional.secrets import Secrets, load_secrets
from transactional.settings import Settings
from transactional.tenancy import bind_tenant
from warehouse.client import Warehouse
from warehouse.dbt_runner import run_dbt

ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
METFORMIN_500 = "861007"  # clinical drug; its ingredient metformin is RxNorm 6809
CLOPIDOGREL_75 = "309362"
HBA1C, CYP2C19 = "4548-4", "79714-2"
POOR, INTERMEDIATE, NORMAL = "LA9657-3", "LA10317-8", "LA25391-6"
ZIPS = ("02115", "03601", "05901", "02139")  # 036 and 059 are restricted three-digit ZIPs

T2D_TEST = """
name: t2d_test
description: Adults with new type 2 diabetes on metformin with HbA1c >= 8 within 90 days.
version: 1
entry:
  kind: diagnosis
  codes: [{system: ICD-10-CM, codes: ["E11*"]}]
  occurrence: first
inclusion:
  - name: metformin within 90 days
    kind: medication
    codes: [{system: RxNorm, codes: [6809]}]
    window: {days_after: 90}
  - name: HbA1c at least 8 within 90 days
    kind: lab
    codes: [{system: LOINC, codes: [4548-4]}]
    value: {comparator: ">=", threshold: 8, unit: "%"}
    window: {days_after: 90}
  - name: adult at entry
    kind: demographics
    age: {min: 18}
exclusion:
  - name: chronic kidney disease before entry
    kind: diagnosis
    codes: [{system: ICD-10-CM, codes: ["N18*"]}]
    window: {days_before: all}
outcomes:
  - name: ed_visit_30d
    kind: encounter
    encounter_class: [emergency]
    within_days: 30
characterization:
  window: {days_before: 365, days_after: 90}
"""


@dataclass(frozen=True)
class Spec:
    group: str
    age: int = 55
    sex: str = "female"
    onset_days_ago: int = 40
    metformin: bool = True
    hba1c: Decimal | None = Decimal("9.0")
    diabetes: bool = True
    ckd: bool = False
    earlier_onset_days_ago: int | None = None
    ed_visit_after_entry: int | None = None
    cyp2c19: str | None = None
    deleted: bool = False


@dataclass(frozen=True)
class Person:
    """What the tests know about one generated patient (identifiers to hunt for in extracts)."""

    spec: Spec
    id: uuid.UUID
    mrn: str
    given_name: str
    family_name: str
    phone: str
    email: str
    ssn: str
    street: str
    postal_code: str
    birth_date: date
    entry_date: date


@dataclass
class Population:
    tenant: Tenant
    people: list[Person] = field(default_factory=list)

    def ids(self, *groups: str) -> set[uuid.UUID]:
        return {p.id for p in self.people if p.spec.group in groups}

    def of(self, group: str) -> list[Person]:
        return [p for p in self.people if p.spec.group == group]


def _specs() -> list[Spec]:
    members = [
        Spec(
            "member",
            age=35 + 4 * i if i < 14 else 93,
            sex="female" if i < 12 else "male",
            hba1c=Decimal("8.0") + Decimal("0.1") * i,
            ed_visit_after_entry=10 if i < 4 else (35 if i == 4 else None),
            cyp2c19=(POOR, INTERMEDIATE, NORMAL)[i - 5] if 5 <= i < 8 else None,
        )
        for i in range(15)
    ]
    return [
        *members,
        *[Spec("low_a1c", hba1c=Decimal("7.2")) for _ in range(12)],
        *[Spec("late_drug", onset_days_ago=200) for _ in range(11)],
        *[Spec("no_drug", metformin=False) for _ in range(3)],
        Spec("old_onset", earlier_onset_days_ago=400),
        *[Spec("teenager", age=16) for _ in range(11)],
        *[Spec("ckd", ckd=True) for _ in range(11)],
        *[Spec("htn_only", diabetes=False, metformin=False, hba1c=None) for _ in range(2)],
        Spec("deleted", deleted=True),
    ]


def _ssn(number: int) -> str:
    return f"5{number:02d}-{number % 90 + 10:02d}-{1000 + number:04d}"


def _birth_date(entry: date, age: int) -> date:
    return date(entry.year - age, 1, 1) if age >= 90 else entry - timedelta(days=365 * age + 40)


def _lab(
    session: Session,
    tenant: Tenant,
    patient_id: uuid.UUID,
    practitioner_id: uuid.UUID,
    code: str,
    entry: ResultEntry,
) -> None:
    order = place_order(
        session=session,
        tenant_id=tenant.id,
        data=NewOrder(
            patient_id=patient_id,
            practitioner_id=practitioner_id,
            category="laboratory",
            system=LOINC,
            code=code,
        ),
        actor=SYSTEM,
    )
    collect_specimen(
        session=session,
        tenant_id=tenant.id,
        order_id=order.id,
        specimen_type="blood",
        actor=SYSTEM,
    )
    record_results(
        session=session, tenant_id=tenant.id, order_id=order.id, entries=[entry], actor=SYSTEM
    )


def _prescribe(
    session: Session, tenant: Tenant, patient_id: uuid.UUID, code: str, prescriber: Actor
) -> None:
    prescribe(
        session=session,
        tenant_id=tenant.id,
        patient_id=patient_id,
        data=NewPrescription(
            medication_system=RXNORM,
            medication_code=code,
            dose="1 tablet",
            route="oral",
            frequency="BID",
            quantity=60,
        ),
        actor=prescriber,
    )


def _problem(
    session: Session, tenant: Tenant, patient_id: uuid.UUID, code: str, onset: date
) -> None:
    add_problem(
        session=session,
        tenant_id=tenant.id,
        patient_id=patient_id,
        data=NewCondition(system=ICD10, code=code, onset_date=onset),
        actor=SYSTEM,
    )


def build_population(*, database: Database, secrets: Secrets) -> Population:
    tenant = make_tenant(database=database)
    physician = make_user(database=database, tenant=tenant, role=Role.PHYSICIAN)
    prescriber = Actor(user_id=physician.id, role=physician.role)
    practitioner = make_practitioner(database=database, tenant=tenant)
    today = utcnow().date()
    population = Population(tenant)
    for number, spec in enumerate(_specs()):
        tag = uuid.uuid4().hex[:8]
        entry = today - timedelta(days=spec.onset_days_ago)
        zip_code = ZIPS[number % len(ZIPS)]
        with database.transaction() as session:
            bind_tenant(session, tenant.id)
            patient = register_patient(
                session=session,
                tenant_id=tenant.id,
                data=Demographics(
                    given_name=f"Quintessa{tag}",
                    family_name=f"Vandermolen{tag}",
                    birth_date=_birth_date(entry, spec.age),
                    sex=spec.sex,
                    race="White" if number % 3 else "Asian",
                    ethnicity="Not Hispanic or Latino",
                    phone=f"617-555-01{number % 100:02d}",
                    email=f"quintessa.{tag}@example.com",
                    address_line1=f"{100 + number} Elmwood{tag} Street",
                    city="Hanover",
                    state="NH",
                    postal_code=zip_code,
                ),
                actor=SYSTEM,
                ssn=_ssn(number),
                secrets=secrets,
            )
            if spec.diabetes:
                _problem(session, tenant, patient.id, "E11.9", entry)
            else:
                _problem(session, tenant, patient.id, "I10", entry)
            if spec.earlier_onset_days_ago is not None:
                earlier = today - timedelta(days=spec.earlier_onset_days_ago)
                _problem(session, tenant, patient.id, "E11.65", earlier)
            if spec.ckd:
                _problem(session, tenant, patient.id, "N18.31", entry - timedelta(days=365))
            if spec.metformin:
                _prescribe(session, tenant, patient.id, METFORMIN_500, prescriber)
            if spec.hba1c is not None:
                result = ResultEntry(system=LOINC, code=HBA1C, value=spec.hba1c, unit="%")
                _lab(session, tenant, patient.id, practitioner.id, HBA1C, result)
            if spec.cyp2c19 is not None:
                _problem(session, tenant, patient.id, "I25.10", entry - timedelta(days=30))
                _prescribe(session, tenant, patient.id, CLOPIDOGREL_75, prescriber)
                phenotype = ResultEntry(system=LOINC, code=CYP2C19, value_code=spec.cyp2c19)
                _lab(session, tenant, patient.id, practitioner.id, CYP2C19, phenotype)
            if spec.ed_visit_after_entry is not None:
                visit = entry + timedelta(days=spec.ed_visit_after_entry)
                open_encounter(
                    session=session,
                    tenant_id=tenant.id,
                    data=NewEncounter(
                        patient_id=patient.id,
                        practitioner_id=practitioner.id,
                        encounter_class="emergency",
                        start_at=datetime.combine(visit, time(14, 30), tzinfo=UTC),
                    ),
                    actor=SYSTEM,
                )
            person = Person(
                spec=spec,
                id=patient.id,
                mrn=patient.mrn,
                given_name=patient.given_name,
                family_name=patient.family_name,
                phone=patient.phone or "",
                email=patient.email or "",
                ssn=_ssn(number),
                street=patient.address_line1 or "",
                postal_code=zip_code,
                birth_date=patient.birth_date,
                entry_date=entry,
            )
        if spec.deleted:
            with database.transaction() as session:
                bind_tenant(session, tenant.id)
                delete_patient(
                    session=session, tenant_id=tenant.id, patient_id=patient.id, actor=SYSTEM
                )
        population.people.append(person)
    return population


# Only the tests whose every parent is built (staging tests refer to models not selected).
CAUTIOUS = ("--indirect-selection", "cautious")


def build_warehouse(*, database: Database, settings: Settings, root: Path) -> Warehouse:
    """Raw layer by full resync, then the dbt models cohorts and extracts read."""
    warehouse = Warehouse(url=None, data_dir=root / "chdb", lock_timeout=300)
    with warehouse.connect() as client:
        full_resync(source=database.urls.owner, client=client)
    run = run_dbt(
        [*("build", "--select", "+cohort_events", "stg_patients", "value_sets"), *CAUTIOUS],
        settings=settings.model_copy(update={"state_dir": root, "warehouse_url": None}),
        target_dir=root / "dbt",
        check=False,
    )
    assert run.returncode == 0, run.output[-6000:]
    return warehouse


@dataclass(frozen=True)
class World:
    database: Database
    """The world's own database: nothing else's rows reach its warehouse."""
    population: Population
    warehouse: Warehouse
    settings: Settings
    """Settings whose state folder holds this world's warehouse (and extract secret)."""


def build_world(*, database: Database, settings: Settings, root: Path) -> World:
    """For the cohort and the extract tests, once per run (a session fixture)."""
    secrets = load_secrets(settings)
    population = build_population(database=database, secrets=secrets)
    warehouse = build_warehouse(database=database, settings=settings, root=root)
    world_settings = settings.model_copy(update={"state_dir": root, "warehouse_url": None})
    return World(database, population, warehouse, world_settings)
