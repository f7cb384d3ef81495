"""Which columns a de-identified extract carries, and what happens to each.

Patient-level tables list their columns explicitly (an allow-list: a column added to a
source table later stays out until someone decides its treatment). Marts are classified by
column name and type (`classify`), because their columns are defined elsewhere.
"""

import re
from dataclasses import dataclass
from enum import StrEnum


class Treatment(StrEnum):
    KEEP = "kept as recorded"
    PATIENT = "replaced by the patient's pseudonym (HMAC-SHA256 under the extract key)"
    PSEUDONYM = "replaced by a pseudonym (HMAC-SHA256 under the extract key)"
    DATE = "shifted by the patient's date offset (1-365 days, the same for all their rows)"
    YEAR = "reduced to the year"
    BIRTH_YEAR = "year of birth; withheld (empty) for ages of 90 and over"
    AGE = "age in whole years as text; 90 and over grouped as '90+'"
    ZIP3 = (
        "first three digits of the ZIP code; '000' for three-digit areas of 20,000 people "
        "or fewer (HHS list)"
    )
    DROP = "removed (direct identifier or free text)"


@dataclass(frozen=True)
class Column:
    name: str
    treatment: Treatment = Treatment.KEEP
    source: str | None = None  # the source column, when named differently
    entity: str | None = None  # what a pseudonym stands for (patient, encounter, order)
    description: str | None = None  # else the dbt documentation of the source column

    @property
    def source_column(self) -> str:
        return self.source or self.name


@dataclass(frozen=True)
class TableSpec:
    name: str
    source: str  # model in the analytics database
    patient_column: str
    columns: tuple[Column, ...]
    description: str
    condition: str = "1"  # extra SQL filter over the source (aliased `src`), from here only


K = Treatment
_PATIENT = Column("patient_id", K.PATIENT, entity="patient")
_ENCOUNTER = Column("encounter_id", K.PSEUDONYM, entity="encounter")


def _kept(*names: str) -> tuple[Column, ...]:
    return tuple(Column(name) for name in names)


def _dated(*names: str) -> tuple[Column, ...]:
    return tuple(Column(name, K.DATE) for name in names)


PATIENT_TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        name="patients",
        source="stg_patients",
        patient_column="id",
        condition="NOT src.is_deleted AND src.merged_into_id IS NULL",
        description="One row per patient: demographics without direct identifiers.",
        columns=(
            Column("patient_id", K.PATIENT, source="id", entity="patient"),
            *_kept("sex", "gender_identity", "race", "ethnicity", "preferred_language"),
            Column(
                "birth_year",
                K.BIRTH_YEAR,
                source="birth_date",
                description="Year of birth.",
            ),
            Column(
                "age",
                K.AGE,
                source="birth_date",
                description="Age on the extract date (at death for the deceased).",
            ),
            Column("state", description="State of residence (Safe Harbor keeps states)."),
            Column("zip3", K.ZIP3, source="postal_code", description="Three-digit ZIP area."),
            *_kept("country"),
            *_dated("deceased_date"),
        ),
    ),
    TableSpec(
        name="diagnoses",
        source="stg_conditions",
        patient_column="patient_id",
        description="Diagnoses and problem-list entries (ICD-10-CM or SNOMED CT).",
        columns=(
            _PATIENT,
            _ENCOUNTER,
            *_kept("category", "code_system", "code", "display"),
            *_kept("clinical_status", "verification_status", "rank"),
            *_dated("onset_date", "abatement_date"),
        ),
    ),
    TableSpec(
        name="medications",
        source="stg_prescriptions",
        patient_column="patient_id",
        description="Prescriptions (RxNorm) with their structured dose and status.",
        columns=(
            _PATIENT,
            _ENCOUNTER,
            *_kept("medication_system", "medication_code", "medication_display"),
            *_kept("medication_tty", "ingredient_codes", "dose_value", "dose_unit"),
            *_kept("route_system", "route_code", "route_display", "frequency_code"),
            *_kept("frequency_display", "frequency_per_day", "as_needed", "duration_days"),
            *_kept("quantity", "quantity_unit", "refills", "dispensed_quantity"),
            *_kept("indication_system", "indication_code", "indication_display", "status"),
            *_dated("signed_at", "stopped_at", "cancelled_at", "last_dispensed_at"),
        ),
    ),
    TableSpec(
        name="lab_results",
        source="stg_lab_results",
        patient_column="patient_id",
        description="Laboratory results (LOINC), numeric or coded (e.g. CYP2C19 phenotype).",
        columns=(
            _PATIENT,
            Column("order_id", K.PSEUDONYM, entity="order"),
            *_kept("code_system", "code", "display", "status", "value", "unit"),
            *_kept("value_code_system", "value_code", "value_display"),
            *_kept("reference_low", "reference_high", "abnormal_flag"),
            *_dated("effective_at", "issued_at"),
        ),
    ),
    TableSpec(
        name="encounters",
        source="stg_encounters",
        patient_column="patient_id",
        description="Visits: ambulatory, emergency and inpatient stays.",
        columns=(
            Column("encounter_id", K.PSEUDONYM, source="id", entity="encounter"),
            _PATIENT,
            *_kept("encounter_class", "type_system", "type_code", "type_display", "status"),
            *_kept("admit_source", "discharge_disposition"),
            *_dated("start_at", "end_at", "admitted_at", "discharged_at"),
        ),
    ),
)

COHORT_TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        name="cohort_membership",
        source="cohort_membership",
        patient_column="patient_id",
        description="The cohort's members: one row per qualifying entry.",
        columns=(
            _PATIENT,
            Column("cohort", description="Cohort name."),
            Column("version", description="Version of the cohort definition."),
            Column("entry_at", K.DATE, description="When the entry event happened."),
            Column("entry_end_at", K.DATE, description="When the entry event ended."),
            Column("entry_kind", description="Kind of entry event (diagnosis, lab...)."),
            Column("entry_code_system", description="System of the entry event's code."),
            Column("entry_code", description="Code of the entry event."),
            Column("age_at_entry", K.AGE, description="Age at entry."),
            Column("sex", description="Administrative sex."),
        ),
    ),
    TableSpec(
        name="cohort_outcomes",
        source="cohort_outcomes",
        patient_column="patient_id",
        description="Per member entry and outcome: whether it occurred within its window.",
        columns=(
            _PATIENT,
            Column("entry_at", K.DATE, description="The entry this row follows up."),
            Column("outcome", description="Outcome name from the cohort definition."),
            Column("anchor_date", K.DATE, description="Day the follow-up window counts from."),
            Column("within_days", description="Length of the follow-up window in days."),
            Column(
                "follow_up_complete",
                description="1 when the data reach the end of the window.",
            ),
            Column("occurred", description="1 when the outcome occurred in the window."),
            Column("first_event_at", K.DATE, description="When it first occurred."),
        ),
    ),
)

_DIRECT = re.compile(
    r"(^|_)(mrn|ssn|name|names|phone|fax|email|address|street|city|contact|member|group_number"
    r"|npi|license|licence|url|ip|device|serial|vin|photo|account)(_|$)"
)
_FREE_TEXT = re.compile(
    r"(^|_)(note|notes|reason|text|comment|comments|interpretation|narrative|subjective"
    r"|objective|assessment|plan)$"
)
_AGE = re.compile(r"(^|_)age(_|$)")


def classify(name: str, clickhouse_type: str, *, patient_level: bool) -> Column:
    """The treatment of a mart column, from its name and ClickHouse type. In an aggregate
    mart (no patient column) names and dates describe providers, payers and periods, not
    patients, and stay."""
    kind = clickhouse_type.removeprefix("Nullable(").removeprefix("LowCardinality(")
    if name == "tenant_id":
        return Column(name, K.DROP)
    if patient_level and (_DIRECT.search(name) or _FREE_TEXT.search(name)):
        return Column(name, K.DROP)
    if name == "patient_id" or name.endswith("_patient_id"):
        return Column(name, K.PATIENT, entity="patient")
    if name in {"postal_code", "zip", "zip_code"}:
        return Column("zip3", K.ZIP3, source=name)
    if name in {"birth_date", "date_of_birth"}:
        return Column("birth_year", K.BIRTH_YEAR, source=name)
    if name.endswith("_id") or name == "id":
        return Column(name, K.PSEUDONYM, entity=name.removesuffix("_id") or "row")
    if _AGE.search(name) and kind.startswith(("Int", "UInt")):
        return Column(name, K.AGE)
    if patient_level and kind.startswith(("Date", "DateTime")):
        return Column(name, K.DATE)
    return Column(name)
