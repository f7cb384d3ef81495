"""A tenant with a physician, a patient and helpers that chart through the real services."""

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text

from tests.cds.facts import CODES, LOINC
from tests.factories.identity import make_tenant, make_user
from tests.factories.medications import make_prescription
from tests.factories.orders import actor_of, collect, enter_results, linked_practitioner
from tests.factories.patients import make_patient
from tests.factories.scheduling import tenant_session
from transactional.alerts.models import ClinicalAlert
from transactional.base import utcnow
from transactional.charting.encounters import NewEncounter, open_encounter
from transactional.charting.models import Encounter, Observation
from transactional.charting.vitals import Measurement, record_vitals
from transactional.database import Database
from transactional.identity.models import Tenant, User
from transactional.identity.roles import Role
from transactional.medications.prescriptions import Outcome
from transactional.orders.models import Order
from transactional.orders.ordering import NewOrder, place_order
from transactional.orders.results import RecordedResults, ResultEntry
from transactional.patients.models import Patient
from transactional.providers.models import Practitioner

CYP2C19 = "79714-2"
POOR, INTERMEDIATE, NORMAL = "LA9657-3", "LA10317-8", "LA25391-6"
CLOPIDOGREL_TABLET, ATORVASTATIN = "309362", "83367"


def measurements(at: datetime, values: Mapping[str, str | int]) -> list[Measurement]:
    return [
        Measurement(LOINC, CODES[name][0], Decimal(str(value)), CODES[name][1], at)
        for name, value in values.items()
    ]


class Ward:
    def __init__(self, database: Database, *, birth_date: date = date(1960, 4, 2)) -> None:
        self.database = database
        self.tenant: Tenant = make_tenant(database=database)
        self.physician: User = make_user(database=database, tenant=self.tenant, role=Role.PHYSICIAN)
        self.practitioner: Practitioner = linked_practitioner(
            database=database, tenant=self.tenant, user=self.physician
        )
        self.patient: Patient = make_patient(
            database=database, tenant=self.tenant, birth_date=birth_date
        )
        self.actor = actor_of(self.physician)

    def encounter(self, encounter_class: str = "emergency", *, hours_ago: int = 3) -> Encounter:
        with tenant_session(database=self.database, tenant=self.tenant) as session:
            return open_encounter(
                session=session,
                tenant_id=self.tenant.id,
                data=NewEncounter(
                    patient_id=self.patient.id,
                    practitioner_id=self.practitioner.id,
                    encounter_class=encounter_class,
                    start_at=utcnow() - timedelta(hours=hours_ago),
                ),
                actor=self.actor,
            )

    def vitals(
        self, encounter: Encounter, *, minutes: int, **values: str | int
    ) -> list[Observation]:
        """Vitals taken `minutes` after the encounter started, committed."""
        with tenant_session(database=self.database, tenant=self.tenant) as session:
            return record_vitals(
                session=session,
                tenant_id=self.tenant.id,
                encounter_id=encounter.id,
                measurements=measurements(encounter.start_at + timedelta(minutes=minutes), values),
                actor=self.actor,
            )

    def alerts(self, kind: str | None = None) -> list[ClinicalAlert]:
        with tenant_session(database=self.database, tenant=self.tenant) as session:
            query = select(ClinicalAlert).where(ClinicalAlert.patient_id == self.patient.id)
            if kind is not None:
                query = query.where(ClinicalAlert.kind == kind)
            return list(session.scalars(query.order_by(ClinicalAlert.created_at)))

    def audit_actions(self) -> list[str]:
        with tenant_session(database=self.database, tenant=self.tenant) as session:
            rows = session.execute(
                text("SELECT action FROM audit_events WHERE patient_id = :p ORDER BY occurred_at"),
                {"p": self.patient.id},
            )
            return [row.action for row in rows]

    def order(self, code: str, *, encounter: Encounter | None = None) -> Order:
        with tenant_session(database=self.database, tenant=self.tenant) as session:
            order = place_order(
                session=session,
                tenant_id=self.tenant.id,
                data=NewOrder(
                    patient_id=self.patient.id,
                    practitioner_id=self.practitioner.id,
                    category="laboratory",
                    system=LOINC,
                    code=code,
                    encounter_id=encounter.id if encounter else None,
                ),
                actor=self.actor,
            )
        specimen = "blood" if code == CYP2C19 else "serum"
        return collect(
            database=self.database, tenant=self.tenant, order=order, specimen_type=specimen
        )

    def results(self, order: Order, entries: list[ResultEntry]) -> RecordedResults:
        return enter_results(
            database=self.database, tenant=self.tenant, order=order, entries=entries
        )

    def phenotype(self, answer: str) -> RecordedResults:
        entry = ResultEntry(system=LOINC, code=CYP2C19, value_code=answer)
        return self.results(self.order(CYP2C19), [entry])

    def prescribe(self, code: str, **fields: Any) -> Outcome:
        return make_prescription(
            database=self.database,
            tenant=self.tenant,
            patient=self.patient,
            prescriber=self.physician,
            code=code,
            **fields,
        )
