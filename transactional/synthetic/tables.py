"""From a simulated history to rows of the real tables: ids, timestamps, codes with systems
and displays, the workflow fields each status needs.

Displays, units and normalised prescription fields come from the same catalogs and parsers
the API uses (terminology, the lab catalog, `medications.sig`), so a generated row is what the
API would have stored for the same input.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from typing import Any

import numpy as np
import polars as pl

from transactional.medications import sig
from transactional.medications.knowledge import knowledge_base
from transactional.medications.prescriptions import resolve_medication
from transactional.orders.catalog import catalog
from transactional.synthetic import charting, history
from transactional.synthetic.clinic import SLOT_MINUTES, TIME_ZONE, Clinic
from transactional.synthetic.history import History
from transactional.synthetic.ids import uuids
from transactional.synthetic.people import People
from transactional.synthetic.timeline import NEVER, as_dates, as_instants
from transactional.terminology.catalog import lookup
from transactional.terminology.systems import CodeSystem

ICD10 = str(CodeSystem.ICD10CM)
LOINC = str(CodeSystem.LOINC)
SNOMED = str(CodeSystem.SNOMEDCT)
RXNORM = str(CodeSystem.RXNORM)
ENCOUNTER_TYPES = {  # kind -> (SNOMED code, reason)
    history.CHECKUP: ("185349003", "Annual check-up"),
    history.PROBLEM: ("185345009", "New or ongoing problem"),
    history.DIAGNOSIS: ("185345009", "New or ongoing problem"),
    history.FOLLOW_UP: ("390906007", "Follow-up"),
    history.EMERGENCY: ("50849002", "Emergency visit"),
    history.INPATIENT: ("183452005", "Hospital admission"),
}
CANCEL_REASONS = ("Patient request", "Illness", "Transportation", "Scheduling conflict")
ALLERGENS = {  # kind -> (system, code, category, reactions)
    "penicillin": (SNOMED, "764146007", "medication", ("Hives", "Rash", "Anaphylaxis")),
    "aspirin": (RXNORM, "1191", "medication", ("Wheezing", "Hives", "Angioedema")),
    "sulfonamide": (SNOMED, "387406002", "medication", ("Rash", "Hives")),
    "peanut": (SNOMED, "762952008", "food", ("Hives", "Anaphylaxis", "Throat swelling")),
    "latex": (SNOMED, "111088007", "environment", ("Itching", "Contact dermatitis")),
}
PLANS = {"medicare": "Medicare Part B", "medicaid": "MassHealth Standard", "commercial": "PPO"}


@cache
def display(system: str, code: str) -> str | None:
    concept = lookup(system, code)
    if concept is None:
        raise ValueError(f"generated code {code} is not in the shipped {system} subset")
    return concept.display


def _displays(system: str, codes: pl.Series) -> pl.Series:
    mapping = {code: display(system, code) for code in codes.unique().to_list()}
    return codes.replace_strict(mapping, return_dtype=pl.String)


@dataclass(frozen=True)
class Context:
    tenant_id: str
    seed: int
    slug: str
    as_of: date
    start: date

    def ids(self, table: str, n: int) -> pl.Series:
        from transactional.synthetic.ids import stream

        return uuids(stream(self.seed, self.slug, f"ids:{table}"), n)

    def rng(self, name: str) -> np.random.Generator:
        from transactional.synthetic.ids import stream

        return stream(self.seed, self.slug, f"tables:{name}")

    @property
    def created(self) -> datetime:
        return datetime.combine(self.start, time(0, 0))


def _text_where(mask: np.ndarray, values: np.ndarray | str) -> pl.Series:
    """Text where `mask`, null elsewhere."""
    text = pl.Series(np.broadcast_to(np.asarray(values, dtype=str), mask.shape))
    return _only(text, mask)


def _strings(values: np.ndarray) -> pl.Series:
    """Optional text (numpy object arrays holding None) as a polars string column."""
    return pl.Series([None if v is None else str(v) for v in values.tolist()], dtype=pl.String)


def _only(values: pl.Series, mask: np.ndarray) -> pl.Series:
    """`values` where `mask`, null elsewhere."""
    return pl.select(pl.when(pl.Series(mask)).then(values)).to_series().alias(values.name)


def _local_slots(days: np.ndarray, slots: np.ndarray) -> pl.Series:
    """Wall-clock slot starts at the clinic (America/New_York) as UTC instants."""
    local = as_dates(days).cast(pl.Datetime("us")) + pl.Series(
        (8 * 60 + slots.astype(np.int64) * SLOT_MINUTES) * 60_000_000
    ).cast(pl.Duration("us"))
    return local.dt.replace_time_zone(TIME_ZONE).dt.convert_time_zone("UTC")


def _offset(start: pl.Series, minutes: np.ndarray) -> pl.Series:
    return start + pl.Series(minutes.astype(np.int64) * 60_000_000).cast(pl.Duration("us"))


def build(
    *, people: People, clinic: Clinic, chart: History, context: Context, mrn_numbers: list[int]
) -> dict[str, pl.DataFrame]:
    """Every table's rows, in an order that satisfies the foreign keys."""
    from transactional.patients.mrn import format_mrn

    tenant = context.tenant_id
    n = len(people)
    patient_ids = context.ids("patients", n)
    user_of = clinic.practitioners["user_id"]
    practitioner_ids = clinic.practitioners["id"]
    location_ids = clinic.locations["id"]
    department_of = clinic.practitioners["department_id"]
    tables: dict[str, pl.DataFrame] = {}
    tables["departments"] = clinic.departments
    tables["locations"] = clinic.locations.drop("kind")
    tables["payers"] = clinic.payers
    tables["users"] = clinic.users
    tables["practitioners"] = clinic.practitioners.drop("role", "location_id")
    tables["working_hours"] = clinic.working_hours
    tables["fee_schedules"] = clinic.fee_schedules
    tables["fee_schedule_items"] = clinic.fee_schedule_items

    digits = pl.Series(people.phone).str.replace_all(r"\D", "")
    tables["patients"] = pl.DataFrame(
        {
            "id": patient_ids,
            "mrn": [format_mrn(number) for number in mrn_numbers],
            "given_name": people.given_name,
            "middle_name": _strings(people.middle_name),
            "family_name": people.family_name,
            "birth_date": as_dates(people.birth_date.astype("datetime64[D]").astype(np.int64)),
            "sex": np.where(people.female, "female", "male"),
            "race": people.race,
            "ethnicity": np.where(people.hispanic, "Hispanic or Latino", "Not Hispanic or Latino"),
            "preferred_language": people.preferred_language,
            "phone": people.phone,
            "phone_digits": digits,
            "email": _strings(people.email),
            "address_line1": people.address_line1,
            "city": people.city,
            "state": people.state,
            "postal_code": people.postal_code,
            "country": pl.Series(["US"] * n),
            "emergency_contact_name": _strings(people.emergency_contact_name),
            "emergency_contact_relationship": _strings(people.emergency_contact_relationship),
            "emergency_contact_phone": _strings(people.emergency_contact_phone),
        }
    ).with_columns(
        tenant_id=pl.lit(tenant),
        is_deleted=pl.lit(False),
        created_at=pl.lit(context.created),
        updated_at=pl.lit(context.created),
        version=pl.lit(1, dtype=pl.Int32),
    )
    tables["coverages"] = _coverages(chart, context, clinic, patient_ids, people)
    tables["allergies"] = _allergies(chart, context, patient_ids)

    encounters, appointments = _encounters(
        chart, context, patient_ids, practitioner_ids, location_ids
    )
    tables["appointments"] = appointments
    tables["encounters"] = encounters.drop("_kind")
    starts = encounters["start_at"]
    encounter_ids = encounters["id"]
    enc_practitioner = pl.Series(chart.encounters.get("practitioner").astype(np.int64))

    tables["conditions"] = _conditions(
        chart, context, patient_ids, encounter_ids, starts, user_of, enc_practitioner
    )
    tables["observations"] = _vitals(
        chart, context, patient_ids, encounter_ids, starts, user_of, enc_practitioner
    )
    tables["procedures"] = _procedures(
        chart,
        context,
        patient_ids,
        encounter_ids,
        starts,
        practitioner_ids,
        user_of,
        enc_practitioner,
    )
    orders, results, alerts, reports = _orders(
        chart, context, patient_ids, encounter_ids, starts, practitioner_ids, user_of
    )
    tables["orders"] = orders
    tables["lab_results"] = results
    tables["clinical_alerts"] = alerts
    tables["imaging_reports"] = reports
    tables["prescriptions"] = _prescriptions(
        chart, context, patient_ids, encounter_ids, starts, practitioner_ids, user_of
    )
    from transactional.synthetic.revenue import revenue_cycle

    tables.update(
        revenue_cycle(
            tables=tables,
            encounters=encounters,
            context=context,
            clinic=clinic,
            department_of=department_of,
            rng=context.rng("revenue"),
        )
    )
    return tables


def _coverages(
    chart: History, context: Context, clinic: Clinic, patient_ids: pl.Series, people: People
) -> pl.DataFrame:
    rows = chart.coverages
    p = rows.get("patient").astype(np.int64)
    payer = rows.get("payer").astype(np.int64)
    start, end = rows.get("start_day").astype(np.int64), rows.get("end_day").astype(np.int64)
    rng = context.rng("coverages")
    member = rng.integers(10**8, 10**9, len(p)).astype(str)
    types = clinic.payers["payer_type"].to_numpy()[payer]
    child = (start - people.birth_date.astype("datetime64[D]").astype(np.int64)[p]) < 18 * 365
    return pl.DataFrame(
        {
            "id": context.ids("coverages", len(p)),
            "patient_id": patient_ids.gather(p),
            "payer_id": clinic.payers["id"].gather(payer),
            "member_id": np.char.add("M", member),
            "group_number": _text_where(
                types == "commercial", np.char.add("G", member.astype("<U4"))
            ),
            "plan_name": pl.Series([PLANS.get(t, "Self-pay") for t in types]),
            "subscriber_relationship": np.where(child & (types == "commercial"), "child", "self"),
            "period_start": as_dates(start),
            "period_end": _only(as_dates(np.where(end == NEVER, 0, end)), end != NEVER),
            "priority": pl.Series(rows.get("priority").astype(np.int16)),
        }
    ).with_columns(
        tenant_id=pl.lit(context.tenant_id),
        status=pl.lit("active"),
        created_at=pl.lit(context.created),
        updated_at=pl.lit(context.created),
    )


def _allergies(chart: History, context: Context, patient_ids: pl.Series) -> pl.DataFrame:
    rows = chart.allergies
    p = rows.get("patient").astype(np.int64)
    kinds = rows.get("kind").astype(str)
    rng = context.rng("allergies")
    systems = [ALLERGENS[k][0] for k in kinds]
    codes = [ALLERGENS[k][1] for k in kinds]
    reactions = [ALLERGENS[k][3][int(rng.integers(0, len(ALLERGENS[k][3])))] for k in kinds]
    onset = rows.get("onset_day").astype(np.int64)
    return pl.DataFrame(
        {
            "id": context.ids("allergies", len(p)),
            "patient_id": patient_ids.gather(p),
            "substance_system": systems,
            "substance_code": codes,
            "substance_display": [display(s, c) for s, c in zip(systems, codes, strict=True)],
            "category": [ALLERGENS[k][2] for k in kinds],
            "severity": rows.get("severity").astype(str),
            "reaction": reactions,
            "onset_date": as_dates(onset),
        },
        schema_overrides={
            "substance_system": pl.String,
            "substance_code": pl.String,
            "substance_display": pl.String,
            "category": pl.String,
            "reaction": pl.String,
        },
    ).with_columns(
        tenant_id=pl.lit(context.tenant_id),
        status=pl.lit("active"),
        created_at=pl.lit(context.created),
        updated_at=pl.lit(context.created),
    )


def _encounters(
    chart: History,
    context: Context,
    patient_ids: pl.Series,
    practitioner_ids: pl.Series,
    location_ids: pl.Series,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    e = chart.encounters
    count = len(e)
    kind = e.get("kind").astype(np.int64)
    office = np.isin(kind, history.AMBULATORY_KINDS)
    slot_start = _local_slots(
        e.get("day").astype(np.int64), np.maximum(e.get("slot").astype(np.int64), 0)
    )
    acute_start = as_instants(e.get("start").astype(np.int64))
    start = slot_start.zip_with(pl.Series(office), acute_start)
    end = _offset(start, e.get("minutes").astype(np.int64))
    inpatient = kind == history.INPATIENT
    classes = np.where(
        office, "ambulatory", np.where(kind == history.EMERGENCY, "emergency", "inpatient")
    )
    type_code = [ENCOUNTER_TYPES[int(k)][0] for k in kind]
    ids = context.ids("encounters", count)
    disposition = e.get("disposition").astype(np.int64)
    encounters = pl.DataFrame(
        {
            "id": ids,
            "patient_id": patient_ids.gather(e.get("patient").astype(np.int64)),
            "encounter_class": classes,
            "type_system": pl.Series([SNOMED] * count),
            "type_code": type_code,
            "type_display": _displays(SNOMED, pl.Series(type_code)),
            "reason": [ENCOUNTER_TYPES[int(k)][1] for k in kind],
            "practitioner_id": practitioner_ids.gather(e.get("practitioner").astype(np.int64)),
            "location_id": location_ids.gather(e.get("location").astype(np.int64)),
            "status": pl.Series(["finished"] * count),
            "start_at": start,
            "end_at": end,
            "admitted_at": _only(start, inpatient),
            "admit_source": _text_where(inpatient, "emergency"),
            "discharged_at": _only(end, inpatient),
            "discharge_disposition": pl.Series(
                [history.DISPOSITIONS[d] if d >= 0 else None for d in disposition], dtype=pl.String
            ),
            "_kind": kind,
        }
    ).with_columns(
        tenant_id=pl.lit(context.tenant_id),
        created_at=pl.col("start_at"),
        updated_at=pl.col("end_at"),
    )

    a = chart.appointments
    m = len(a)
    status = a.get("status").astype(str)
    starts = _local_slots(a.get("day").astype(np.int64), a.get("slot").astype(np.int64))
    encounter = a.get("encounter").astype(np.int64)
    rng = context.rng("appointments")
    booked_days_before = rng.integers(3, 30, m)
    created = _offset(starts, -booked_days_before * 1440)
    as_of = datetime.combine(context.as_of, time(0, 0))
    created = created.clip(
        upper_bound=pl.lit(as_of).dt.replace_time_zone("UTC") - pl.duration(hours=1)
    )
    completed = status == "completed"
    minutes = np.where(
        encounter >= 0, e.get("minutes").astype(np.int64)[np.maximum(encounter, 0)], 20
    )

    def at(mask: np.ndarray, minutes_after: np.ndarray | int) -> pl.Series:
        values = _offset(starts, np.broadcast_to(np.asarray(minutes_after), (m,)))
        return _only(values, mask)

    confirmed = completed | (status == "confirmed") | (status == "no_show")
    appointment_ids = context.ids("appointments", m)
    kinds = a.get("kind").astype(np.int64)
    appointments = pl.DataFrame(
        {
            "id": appointment_ids,
            "patient_id": patient_ids.gather(a.get("patient").astype(np.int64)),
            "practitioner_id": practitioner_ids.gather(a.get("practitioner").astype(np.int64)),
            "location_id": location_ids.gather(a.get("location").astype(np.int64)),
            "starts_at": starts,
            "ends_at": _offset(starts, np.full(m, SLOT_MINUTES)),
            "status": status,
            "appointment_type": np.where(kinds == history.FOLLOW_UP, "follow_up", "other"),
            "reason": [ENCOUNTER_TYPES[int(k)][1] for k in kinds],
            "cancel_reason": _text_where(
                status == "cancelled", np.array(CANCEL_REASONS)[rng.integers(0, 4, m)]
            ),
            "confirmed_at": at(confirmed, -2 * 1440),
            "checked_in_at": at(completed, -12),
            "started_at": at(completed, 0),
            "completed_at": at(completed, minutes),
            "cancelled_at": at(status == "cancelled", -1440),
            "no_show_at": at(status == "no_show", 15),
            "version": pl.Series(
                np.where(completed, 5, np.where(status == "scheduled", 1, 2)).astype(np.int32)
            ),
            "created_at": created,
        }
    ).with_columns(tenant_id=pl.lit(context.tenant_id), updated_at=pl.col("created_at"))
    # A visit's encounter names its appointment.
    linked = pl.DataFrame(
        {
            "index": encounter[completed],
            "appointment_id": appointment_ids.filter(pl.Series(completed)),
        }
    )
    encounters = (
        encounters.with_row_index("index")
        .with_columns(pl.col("index").cast(pl.Int64))
        .join(linked, on="index", how="left", maintain_order="left")
        .drop("index")
    )
    return encounters, appointments


def _conditions(
    chart: History,
    context: Context,
    patient_ids: pl.Series,
    encounter_ids: pl.Series,
    starts: pl.Series,
    user_of: pl.Series,
    enc_practitioner: pl.Series,
) -> pl.DataFrame:
    d = chart.diagnoses
    enc = d.get("encounter").astype(np.int64)
    codes = pl.Series(d.get("code").astype(str))
    onset = d.get("onset_day").astype(np.int64)
    diagnoses = pl.DataFrame(
        {
            "id": context.ids("diagnoses", len(d)),
            "patient_id": patient_ids.gather(d.get("patient").astype(np.int64)),
            "encounter_id": encounter_ids.gather(enc),
            "category": pl.Series(["encounter_diagnosis"] * len(d)),
            "code": codes,
            "display": _displays(ICD10, codes),
            "onset_date": as_dates(onset),
            "rank": pl.Series(d.get("rank").astype(np.int16)),
            "recorded_by": user_of.gather(enc_practitioner.gather(enc)),
            "created_at": starts.gather(enc),
        }
    )
    p = chart.problems
    codes = pl.Series(p.get("code").astype(str))
    problems = pl.DataFrame(
        {
            "id": context.ids("problems", len(p)),
            "patient_id": patient_ids.gather(p.get("patient").astype(np.int64)),
            "encounter_id": pl.Series([None] * len(p), dtype=pl.String),
            "category": pl.Series(["problem_list_item"] * len(p)),
            "code": codes,
            "display": _displays(ICD10, codes),
            "onset_date": as_dates(p.get("onset_day").astype(np.int64)),
            "rank": pl.Series([None] * len(p), dtype=pl.Int16),
            "recorded_by": pl.Series([None] * len(p), dtype=pl.String),
            "created_at": pl.Series([context.created] * len(p)).dt.replace_time_zone("UTC"),
        }
    )
    return pl.concat([diagnoses, problems]).with_columns(
        tenant_id=pl.lit(context.tenant_id),
        code_system=pl.lit(ICD10),
        clinical_status=pl.lit("active"),
        verification_status=pl.lit("confirmed"),
        updated_at=pl.col("created_at"),
    )


def _vitals(
    chart: History,
    context: Context,
    patient_ids: pl.Series,
    encounter_ids: pl.Series,
    starts: pl.Series,
    user_of: pl.Series,
    enc_practitioner: pl.Series,
) -> pl.DataFrame:
    from transactional.charting.vitals import BMI_SIGN, VITAL_SIGNS

    v = chart.vitals
    enc = v.get("encounter").astype(np.int64)
    codes = pl.Series(v.get("code").astype(str))
    units = {code: sign.unit for code, sign in VITAL_SIGNS.items()} | {"39156-5": BMI_SIGN.unit}
    effective = _offset(starts.gather(enc), v.get("offset").astype(np.int64))
    return pl.DataFrame(
        {
            "id": context.ids("observations", len(v)),
            "patient_id": patient_ids.gather(v.get("patient").astype(np.int64)),
            "encounter_id": encounter_ids.gather(enc),
            "code": codes,
            "display": _displays(LOINC, codes),
            "value": pl.Series(v.get("value").astype(np.float64)).cast(pl.Decimal(12, 4)),
            "unit": codes.replace_strict(units, return_dtype=pl.String),
            "effective_at": effective,
            "is_derived": pl.Series(v.get("derived").astype(bool)),
            "recorded_by": user_of.gather(enc_practitioner.gather(enc)),
        }
    ).with_columns(
        tenant_id=pl.lit(context.tenant_id),
        category=pl.lit("vital-signs"),
        code_system=pl.lit(LOINC),
        status=pl.lit("final"),
        created_at=pl.col("effective_at"),
        updated_at=pl.col("effective_at"),
    )


def _procedures(
    chart: History,
    context: Context,
    patient_ids: pl.Series,
    encounter_ids: pl.Series,
    starts: pl.Series,
    practitioner_ids: pl.Series,
    user_of: pl.Series,
    enc_practitioner: pl.Series,
) -> pl.DataFrame:
    pr = chart.procedures
    enc = pr.get("encounter").astype(np.int64)
    systems = pr.get("system").astype(str)
    codes = pr.get("code").astype(str)
    names = [
        display(s, c) if s == charting.HCPCS else None for s, c in zip(systems, codes, strict=True)
    ]
    performed = _offset(starts.gather(enc), pr.get("offset").astype(np.int64))
    performer = enc_practitioner.gather(enc)
    return pl.DataFrame(
        {
            "id": context.ids("procedures", len(pr)),
            "patient_id": patient_ids.gather(pr.get("patient").astype(np.int64)),
            "encounter_id": encounter_ids.gather(enc),
            "code_system": systems,
            "code": codes,
            "display": pl.Series(names, dtype=pl.String),
            "units": pl.Series(pr.get("units").astype(np.int16)),
            "performed_at": performed,
            "performer_id": practitioner_ids.gather(performer),
            "recorded_by": user_of.gather(performer),
        }
    ).with_columns(
        tenant_id=pl.lit(context.tenant_id),
        status=pl.lit("completed"),
        created_at=pl.col("performed_at"),
        updated_at=pl.col("performed_at"),
    )


def _orders(
    chart: History,
    context: Context,
    patient_ids: pl.Series,
    encounter_ids: pl.Series,
    starts: pl.Series,
    practitioner_ids: pl.Series,
    user_of: pl.Series,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    o = chart.orders
    enc = o.get("encounter").astype(np.int64)
    count = len(o)
    start = starts.gather(enc)
    lab = o.get("category").astype(str) == "laboratory"
    ordered = _offset(start, o.get("ordered").astype(np.int64))
    collected = _only(_offset(start, o.get("collected").astype(np.int64)), lab)
    resulted = _offset(start, o.get("resulted").astype(np.int64))
    prac = o.get("practitioner").astype(np.int64)
    codes = pl.Series(o.get("code").astype(str))
    order_ids = context.ids("orders", count)
    orders = pl.DataFrame(
        {
            "id": order_ids,
            "patient_id": patient_ids.gather(o.get("patient").astype(np.int64)),
            "encounter_id": encounter_ids.gather(enc),
            "practitioner_id": practitioner_ids.gather(prac),
            "category": o.get("category").astype(str),
            "code": codes,
            "display": _displays(LOINC, codes),
            "priority": o.get("priority").astype(str),
            "ordered_at": ordered,
            "ordered_by": user_of.gather(prac),
            "specimen_type": _text_where(lab, o.get("specimen").astype(str)),
            "collected_at": collected,
            "collected_by": _only(user_of.gather(prac), lab),
            "resulted_at": resulted,
        }
    ).with_columns(
        tenant_id=pl.lit(context.tenant_id),
        code_system=pl.lit(LOINC),
        status=pl.lit("resulted"),
        result_status=pl.lit("final"),
        created_at=pl.col("ordered_at"),
        updated_at=pl.col("resulted_at"),
    )

    r = chart.results
    order = r.get("order").astype(np.int64)
    tests = charting.lab_tests()
    rcodes = r.get("code").astype(str)
    values = r.get("value").astype(np.float64)
    numeric = ~np.isnan(values)
    answers = r.get("answer").astype(str)
    flags = r.get("flag").astype(str)

    def limit(attribute: str) -> pl.Series:
        mapping = {
            c: (
                float(getattr(tests[c], attribute))
                if getattr(tests[c], attribute) is not None
                else None
            )
            for c in set(rcodes)
        }
        return pl.Series([mapping[c] for c in rcodes], dtype=pl.Float64).cast(pl.Decimal(18, 6))

    answer_display = {
        code: answer.display for test in tests.values() for code, answer in test.answers.items()
    }
    result_ids = context.ids("lab_results", len(r))
    results = pl.DataFrame(
        {
            "id": result_ids,
            "order_id": order_ids.gather(order),
            "patient_id": patient_ids.gather(r.get("patient").astype(np.int64)),
            "code": rcodes,
            "display": _displays(LOINC, pl.Series(rcodes)),
            "value": pl.Series(values).fill_nan(None).cast(pl.Decimal(18, 6)),
            "unit": _text_where(numeric, r.get("unit").astype(str)),
            "value_code_system": _text_where(~numeric, LOINC),
            "value_code": _text_where(~numeric, answers),
            "value_display": pl.Series(
                [None if n else answer_display[a] for n, a in zip(numeric, answers, strict=True)],
                dtype=pl.String,
            ),
            "reference_low": limit("low"),
            "reference_high": limit("high"),
            "critical_low": limit("critical_low"),
            "critical_high": limit("critical_high"),
            "abnormal_flag": _text_where(flags != "", flags),
            "effective_at": collected.gather(order),
            "issued_at": resulted.gather(order),
        }
    ).with_columns(
        tenant_id=pl.lit(context.tenant_id),
        code_system=pl.lit(LOINC),
        status=pl.lit("final"),
        catalog_version=pl.lit(catalog().version),
        created_at=pl.col("issued_at"),
        updated_at=pl.col("issued_at"),
    )

    critical = np.isin(flags, ["LL", "HH"])
    alerts = _alerts(
        context,
        results.filter(pl.Series(critical)),
        practitioner_ids.gather(prac[order[critical]]),
        user_of.gather(prac[order[critical]]),
    )

    rep = chart.reports
    rep_order = rep.get("order").astype(np.int64)
    reports = pl.DataFrame(
        {
            "id": context.ids("imaging_reports", len(rep)),
            "order_id": order_ids.gather(rep_order),
            "patient_id": orders["patient_id"].gather(rep_order),
            "text": rep.get("text").astype(str),
            "author_id": user_of.gather(prac[rep_order]),
            "signed_at": resulted.gather(rep_order),
            "signed_by": user_of.gather(prac[rep_order]),
        }
    ).with_columns(
        tenant_id=pl.lit(context.tenant_id),
        version=pl.lit(1, dtype=pl.Int16),
        kind=pl.lit("original"),
        status=pl.lit("final"),
        created_at=pl.col("signed_at"),
        updated_at=pl.col("signed_at"),
    )
    return orders, results, alerts, reports


def _alerts(
    context: Context, critical: pl.DataFrame, recipients: pl.Series, users: pl.Series
) -> pl.DataFrame:
    """Alerts of critical results, as the lab service raises them; acknowledged by the
    ordering clinician within hours, except those of the last two days."""
    n = critical.height
    rng = context.rng("alerts")
    issued = critical["issued_at"]
    as_of = pl.lit(datetime.combine(context.as_of, time(0, 0))).dt.replace_time_zone("UTC")
    acted = _offset(issued, rng.integers(10, 240, n))
    frame = pl.DataFrame(
        {
            "id": context.ids("clinical_alerts", n),
            "patient_id": critical["patient_id"],
            "title": ("Critical result: " + critical["display"]).str.slice(0, 200),
            "rationale": critical["display"]
            + " is "
            + critical["value"].cast(pl.Float64).round(2).cast(pl.String)
            + " "
            + critical["unit"]
            + ", outside its critical limits.",
            "data": [
                json.dumps(
                    {
                        "order_id": order_id,
                        "result_id": result_id,
                        "code": {"system": LOINC, "code": code},
                        "value": str(value),
                        "unit": unit,
                        "abnormal_flag": flag,
                        "catalog_version": catalog().version,
                    },
                    sort_keys=True,
                )
                for order_id, result_id, code, value, unit, flag in zip(
                    critical["order_id"],
                    critical["id"],
                    critical["code"],
                    critical["value"].cast(pl.Float64),
                    critical["unit"],
                    critical["abnormal_flag"],
                    strict=True,
                )
            ],
            "recipient_practitioner_id": recipients,
            "subject_id": critical["id"],
            "issued": issued,
            "acted": acted,
            "user": users,
        }
    )
    frame = frame.with_columns(open=pl.col("acted") >= as_of - pl.duration(days=2))
    return frame.select(
        "id",
        "patient_id",
        "title",
        "rationale",
        "data",
        "recipient_practitioner_id",
        "subject_id",
        tenant_id=pl.lit(context.tenant_id),
        source=pl.lit("laboratory"),
        kind=pl.lit("critical_result"),
        rule_id=pl.lit("laboratory.critical_limits"),
        rule_version=pl.lit(catalog().version),
        severity=pl.lit("critical"),
        suggested_actions=pl.lit(json.dumps(list(charting_actions()))),
        subject_type=pl.lit("lab_result"),
        status=pl.when(pl.col("open")).then(pl.lit("open")).otherwise(pl.lit("acknowledged")),
        acted_by=pl.when(pl.col("open")).then(None).otherwise(pl.col("user")),
        acted_at=pl.when(pl.col("open")).then(None).otherwise(pl.col("acted")),
        created_at=pl.col("issued"),
        updated_at=pl.when(pl.col("open")).then(pl.col("issued")).otherwise(pl.col("acted")),
    )


def charting_actions() -> tuple[str, ...]:
    from transactional.orders.results import _ACTIONS

    return _ACTIONS


@cache
def _regimen(name: str) -> dict[str, Any]:
    """A regimen through the API's own parsing: medication, dose, route, frequency."""
    regimen = charting.REGIMENS[name]
    medication = resolve_medication(RXNORM, regimen.medication)
    dose = sig.quantity(regimen.dose, "dose")
    route = sig.route(regimen.route)
    frequency = sig.frequency(regimen.frequency)
    quantity = (
        sig.quantity(
            {"value": regimen.quantity, "unit": regimen.quantity_unit},
            "quantity",
            unit_required=False,
        )
        if regimen.quantity is not None
        else None
    )
    return {
        "medication_code": medication.code,
        "medication_display": medication.display,
        "medication_tty": medication.tty,
        "ingredient_codes": list(medication.ingredients),
        "dose_value": float(dose.value),
        "dose_unit": dose.unit,
        "route_system": route.system,
        "route_code": route.code,
        "route_display": route.display,
        "frequency_code": frequency.code,
        "frequency_display": frequency.display,
        "frequency_per_day": float(frequency.per_day) if frequency.per_day is not None else None,
        "as_needed": frequency.as_needed,
        "duration_days": regimen.days,
        "quantity": float(quantity.value) if quantity else None,
        "quantity_unit": quantity.unit if quantity else None,
        "refills": regimen.refills,
        "indication_code": regimen.indication,
        "indication_display": display(ICD10, regimen.indication),
        "chronic": regimen.refills > 0,
    }


def _prescriptions(
    chart: History,
    context: Context,
    patient_ids: pl.Series,
    encounter_ids: pl.Series,
    starts: pl.Series,
    practitioner_ids: pl.Series,
    user_of: pl.Series,
) -> pl.DataFrame:
    rx = chart.prescriptions
    enc = rx.get("encounter").astype(np.int64)
    signed = _offset(starts.gather(enc), rx.get("offset").astype(np.int64))
    names = rx.get("regimen").astype(str)
    prac = rx.get("practitioner").astype(np.int64)
    details = (
        pl.DataFrame([_regimen(name) for name in names], infer_schema_length=None)
        if len(rx)
        else pl.DataFrame()
    )
    frame = pl.DataFrame(
        {
            "id": context.ids("prescriptions", len(rx)),
            "patient_id": patient_ids.gather(rx.get("patient").astype(np.int64)),
            "encounter_id": encounter_ids.gather(enc),
            "prescriber_id": practitioner_ids.gather(prac),
            "user": user_of.gather(prac),
            "signed_at": signed,
            "regimen": names,
        }
    ).hstack(details)
    # A renewal stops the patient's previous prescription of the same regimen.
    frame = frame.sort("patient_id", "regimen", "signed_at", maintain_order=True).with_columns(
        renewed_at=pl.col("signed_at").shift(-1).over("patient_id", "regimen")
    )
    rng = context.rng("prescriptions")
    sent = pl.Series(rng.random(frame.height) < 0.8)
    renewed = pl.col("renewed_at").is_not_null()
    knowledge = knowledge_base().provenance.version
    return frame.with_columns(
        tenant_id=pl.lit(context.tenant_id),
        medication_system=pl.lit(RXNORM),
        indication_system=pl.lit(ICD10),
        dispensed_quantity=pl.lit(0.0),
        knowledge_version=pl.lit(knowledge),
        created_by=pl.col("user"),
        signed_by=pl.col("user"),
        status=pl.when(renewed)
        .then(pl.lit("stopped"))
        .when(sent)
        .then(pl.lit("sent"))
        .otherwise(pl.lit("active")),
        sent_at=pl.when(~renewed & sent).then(pl.col("signed_at") + pl.duration(minutes=1)),
        sent_by=pl.when(~renewed & sent).then(pl.col("user")),
        stopped_at=pl.col("renewed_at"),
        stopped_by=pl.when(renewed).then(pl.col("user")),
        stop_reason=pl.when(renewed).then(pl.lit("Renewed at a later visit")),
        created_at=pl.col("signed_at"),
        updated_at=pl.coalesce("renewed_at", "signed_at"),
    ).drop("user", "regimen", "renewed_at", "chronic")
