"""Model inputs from one patient's current PostgreSQL record, for on-demand scoring.

The definitions are those of the feature marts (`dbt_project/models/marts/ml/`), applied to
one patient at one instant: everything recorded strictly before the index instant counts.
A training unit's index instant is midnight UTC of its index date; on demand it is now, so a
result charted this morning is read. tests/ml/test_population.py holds both paths equal.

Each model's inputs come back in one round trip (scalar subqueries) of a statement built
once with bound parameters, which keeps on-demand scoring within its latency budget.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    DateTime,
    Select,
    Uuid,
    and_,
    bindparam,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from ml.features.spec import HBA1C_LOOKBACK_DAYS, INCIDENT_T2D, READMISSION_30D, ModelSpec
from transactional.charting.models import Condition, Encounter, Observation
from transactional.orders.models import LabResult
from transactional.patients.models import Coverage, Patient, Payer

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
BMI = "39156-5"
HBA1C = "4548-4"
ADULT_YEARS = 18.0
DAYS_PER_YEAR = 365.25
READMISSION_CONDITIONS = (
    ("heart_failure", "I50"),
    ("copd", "J44"),
    ("ckd", "N18"),
    ("t2d", "E11"),
    ("depression", "F32"),
)


class NotApplicable(Exception):
    """The patient is not in the model's population (e.g. a child, or already diabetic)."""


@dataclass(frozen=True)
class RecordUnit:
    """One unit's inputs, by the names of the model's specification."""

    model: str
    patient_id: uuid.UUID
    index_date: date
    values: dict[str, Any]
    encounter_id: uuid.UUID | None = None

    def as_inputs(self) -> dict[str, list[Any]]:
        return {name: [value] for name, value in self.values.items()}


def utc_date(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def age_years(birth_date: date, on: date) -> float:
    return (on - birth_date).days / DAYS_PER_YEAR


def _before(onset: date | None, moment: datetime) -> bool:
    return onset is not None and day_start(onset) < moment


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _utc_day(column: Any) -> Any:
    return cast(func.timezone("UTC", column), Date)


def _patient_params() -> tuple[BindParameter[uuid.UUID], BindParameter[uuid.UUID]]:
    return bindparam("tenant_id", type_=Uuid), bindparam("patient_id", type_=Uuid)


def _problem_onset(code: ColumnElement[bool]) -> Any:
    """First onset of a confirmed problem-list entry matching `code` (an entry without onset
    counts from the UTC date it was recorded)."""
    tenant, patient = _patient_params()
    onset = func.coalesce(Condition.onset_date, _utc_day(Condition.created_at))
    return (
        select(func.min(onset))
        .where(
            Condition.tenant_id == tenant,
            Condition.patient_id == patient,
            Condition.category == "problem_list_item",
            Condition.code_system == ICD10CM,
            Condition.verification_status == "confirmed",
            code,
        )
        .scalar_subquery()
    )


def _prefix(prefix: str) -> ColumnElement[bool]:
    return Condition.code.startswith(prefix, autoescape=True)


# --- incident type 2 diabetes -----------------------------------------------------------------


@cache
def _t2d_statement() -> Select[Any]:
    """Built on first use, then reused: only the parameters change between patients."""
    tenant, patient = _patient_params()
    at: BindParameter[datetime] = bindparam("at", type_=DateTime(timezone=True))

    def last(model: type[Observation] | type[LabResult], code: str, column: str) -> Any:
        status = (
            Observation.status == "final"
            if model is Observation
            else and_(LabResult.status.in_(("preliminary", "final")), LabResult.value.is_not(None))
        )
        return (
            select(getattr(model, column))
            .where(
                model.tenant_id == tenant,
                model.patient_id == patient,
                model.code_system == LOINC,
                model.code == code,
                status,
                model.effective_at < at,
            )
            .order_by(model.effective_at.desc())
            .limit(1)
            .scalar_subquery()
        )

    return select(
        _problem_onset(_prefix("E11")).label("t2d"),
        _problem_onset(Condition.code == "I10").label("hypertension"),
        _problem_onset(_prefix("E78")).label("hyperlipidemia"),
        last(Observation, BMI, "value").label("bmi"),
        last(LabResult, HBA1C, "value").label("hba1c"),
        last(LabResult, HBA1C, "effective_at").label("hba1c_at"),
    )


def t2d_unit(
    *, session: Session, tenant_id: uuid.UUID, patient: Patient, at: datetime
) -> RecordUnit:
    """The patient's inputs for `incident_t2d_1y` at instant `at`; NotApplicable outside the
    model's population (under 18, deceased, type 2 diabetes already on the problem list)."""
    index_date = utc_date(at)
    age = age_years(patient.birth_date, index_date)
    if patient.birth_date >= index_date or age < ADULT_YEARS:
        raise NotApplicable("the model is for adults (18 and over)")
    if patient.deceased_date is not None and patient.deceased_date < index_date:
        raise NotApplicable("the patient is deceased")
    row = session.execute(
        _t2d_statement(), {"tenant_id": tenant_id, "patient_id": patient.id, "at": at}
    ).one()
    if _before(row.t2d, at):
        raise NotApplicable("type 2 diabetes is already on the problem list")
    recent = row.hba1c_at is not None and row.hba1c_at >= at - timedelta(days=HBA1C_LOOKBACK_DAYS)
    return RecordUnit(
        model=INCIDENT_T2D.name,
        patient_id=patient.id,
        index_date=index_date,
        values={
            "age_years": age,
            "sex": patient.sex,
            "race": patient.race,
            "ethnicity": patient.ethnicity,
            "bmi": _number(row.bmi),
            "hba1c": _number(row.hba1c) if recent else None,
            "has_hypertension": _before(row.hypertension, at),
            "has_hyperlipidemia": _before(row.hyperlipidemia, at),
        },
    )


# --- thirty-day readmission -----------------------------------------------------------------


@cache
def _readmission_statement() -> Select[Any]:
    tenant, patient = _patient_params()
    admitted: BindParameter[date] = bindparam("admitted", type_=Date)
    others = and_(
        Encounter.tenant_id == tenant,
        Encounter.patient_id == patient,
        Encounter.status == "finished",
        Encounter.id != bindparam("encounter_id"),
    )
    prior_stays = (
        select(func.count())
        .where(
            others,
            Encounter.encounter_class == "inpatient",
            _utc_day(Encounter.discharged_at) >= bindparam("stays_from", type_=Date),
            _utc_day(Encounter.discharged_at) < admitted,
        )
        .scalar_subquery()
    )
    emergency = (
        select(func.count())
        .where(
            others,
            Encounter.encounter_class == "emergency",
            _utc_day(Encounter.start_at) >= bindparam("visits_from", type_=Date),
            _utc_day(Encounter.start_at) < admitted,
        )
        .scalar_subquery()
    )
    medicaid = (
        select(func.count())
        .select_from(Coverage)
        .join(Payer, and_(Payer.tenant_id == Coverage.tenant_id, Payer.id == Coverage.payer_id))
        .where(
            Coverage.tenant_id == tenant,
            Coverage.patient_id == patient,
            Coverage.priority == 1,
            Coverage.status == "active",
            Coverage.period_start <= admitted,
            or_(Coverage.period_end.is_(None), Coverage.period_end >= admitted),
            Payer.payer_type == "medicaid",
        )
        .scalar_subquery()
    )
    return select(
        *[_problem_onset(_prefix(code)).label(name) for name, code in READMISSION_CONDITIONS],
        prior_stays.label("prior"),
        emergency.label("emergency"),
        medicaid.label("medicaid"),
    )


def readmission_unit(
    *, session: Session, tenant_id: uuid.UUID, patient: Patient, encounter: Encounter
) -> RecordUnit:
    """The inputs of `readmission_30d` for one inpatient stay, as of its admission date.
    A stay still in progress has no length of stay or disposition yet: they come back
    missing, and scoring refuses to guess them."""
    if encounter.encounter_class != "inpatient" or encounter.admitted_at is None:
        raise NotApplicable("the encounter is not an inpatient stay")
    if encounter.discharge_disposition == "expired":
        raise NotApplicable("the stay ended in death")
    admitted = utc_date(encounter.admitted_at)
    row = session.execute(
        _readmission_statement(),
        {
            "tenant_id": tenant_id,
            "patient_id": patient.id,
            "encounter_id": encounter.id,
            "admitted": admitted,
            "stays_from": admitted - timedelta(days=365),
            "visits_from": admitted - timedelta(days=180),
        },
    ).one()
    admitted_at = day_start(admitted)
    discharged = (
        utc_date(encounter.discharged_at)
        if encounter.status == "finished" and encounter.discharged_at is not None
        else None
    )
    values: dict[str, Any] = {
        "age_years": age_years(patient.birth_date, admitted),
        **{
            f"has_{name}": _before(getattr(row, name), admitted_at)
            for name, _ in READMISSION_CONDITIONS
        },
        "prior_admissions_365d": int(row.prior),
        "ed_visits_180d": int(row.emergency),
        "length_of_stay_days": None if discharged is None else (discharged - admitted).days,
        "is_medicaid": int(row.medicaid) > 0,
        "discharge_disposition": encounter.discharge_disposition if discharged else None,
    }
    return RecordUnit(
        model=READMISSION_30D.name,
        patient_id=patient.id,
        index_date=discharged or admitted,
        encounter_id=encounter.id,
        values=values,
    )


def latest_stay(
    *, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, at: datetime
) -> Encounter:
    """The stay a readmission score is about: the patient's last inpatient stay, if it is
    still in progress or was discharged (alive) within the 30 days before `at`."""
    stay = session.scalar(
        select(Encounter)
        .where(
            Encounter.tenant_id == tenant_id,
            Encounter.patient_id == patient_id,
            Encounter.encounter_class == "inpatient",
            Encounter.status.in_(("in_progress", "finished")),
            Encounter.admitted_at.is_not(None),
            Encounter.admitted_at < at,
        )
        .order_by(Encounter.admitted_at.desc())
        .limit(1)
    )
    if stay is None:
        raise NotApplicable("no inpatient stay")
    if stay.status == "finished":
        if stay.discharged_at is None or stay.discharge_disposition == "expired":
            raise NotApplicable("the last stay has no live discharge")
        if utc_date(stay.discharged_at) < utc_date(at) - timedelta(days=30):
            raise NotApplicable("no discharge in the last 30 days")
    return stay


def record_unit(
    *, spec: ModelSpec, session: Session, tenant_id: uuid.UUID, patient: Patient, at: datetime
) -> RecordUnit:
    """The unit `spec` scores for this patient now."""
    if spec.name == INCIDENT_T2D.name:
        return t2d_unit(session=session, tenant_id=tenant_id, patient=patient, at=at)
    if spec.name == READMISSION_30D.name:
        stay = latest_stay(session=session, tenant_id=tenant_id, patient_id=patient.id, at=at)
        return readmission_unit(
            session=session, tenant_id=tenant_id, patient=patient, encounter=stay
        )
    raise KeyError(f"no record path for model {spec.name!r}")
