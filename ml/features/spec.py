"""The feature specification of every risk model: which recorded inputs a model reads, how it
turns them into features, what a missing input means, and how scores are tiered.

Both paths that compute inputs follow it: the dbt marts in `dbt_project/models/marts/ml/`
(training and batch scoring, in the warehouse) and `ml/features/record.py` (one patient's
current PostgreSQL record, on demand). They deliver the same named inputs; `encode` is the one
function that turns inputs into the model's features, so training and both scoring paths
cannot drift apart (tests/ml/test_feature_paths.py holds the inputs equal on a population).

The inputs are the recorded features of transactional/synthetic/MODEL.md, so a logistic
regression of these features is well specified on generated populations.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ml.types import Bools, Floats, Inputs


class Kind(StrEnum):
    NUMBER = "number"
    FLAG = "flag"
    TEXT = "text"


class WhenMissing(StrEnum):
    """What scoring does when an input is not recorded. Every case but REFUSE still names the
    input in the score's `missing_inputs`: nothing is filled in silently."""

    INDICATOR = "indicator"  # the model has a missing-value feature for it, as in training
    ABSENT = "absent"  # counted as not present (not Black, not male...), as in training
    REFUSE = "refuse"  # no score without it


@dataclass(frozen=True)
class Input:
    name: str
    kind: Kind
    description: str
    when_missing: WhenMissing = WhenMissing.REFUSE
    # Recorded values that say "not known" (e.g. sex `unknown`).
    unknown_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Feature:
    name: str
    source: str  # the input it is computed from (its value is what a factor shows)
    description: str


@dataclass(frozen=True)
class Tiers:
    """Risk tiers: `low` below `medium_from`, `high` from `high_from`, `medium` between."""

    medium_from: float
    high_from: float

    def of(self, scores: Floats) -> NDArray[np.str_]:
        return np.where(
            scores >= self.high_from, "high", np.where(scores >= self.medium_from, "medium", "low")
        )


@dataclass(frozen=True)
class ModelSpec:
    name: str
    # Bump when an input or feature definition changes: a registered model trained on another
    # version is refused at load time.
    spec_version: str
    title: str
    outcome: str
    unit: str
    mart: str
    key: str  # the unit's identifying column besides tenant and patient
    outcome_column: str
    inputs: tuple[Input, ...]
    features: tuple[Feature, ...]
    encoder: Callable[[Inputs], dict[str, Floats]]
    tiers: Tiers
    # Time-based split: the test split is the units of the last `test_days` (by index date)
    # whose outcome window is complete.
    test_days: int
    intended_use: str
    limits: tuple[str, ...]

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def input_names(self) -> list[str]:
        return [i.name for i in self.inputs]

    def input(self, name: str) -> Input:
        for item in self.inputs:
            if item.name == name:
                return item
        raise KeyError(name)

    def encode(self, inputs: Inputs) -> Floats:
        """The feature matrix (units x features, in `feature_names` order)."""
        encoded = self.encoder(inputs)
        return np.column_stack([encoded[name] for name in self.feature_names]).astype(np.float64)

    def missing(self, inputs: Inputs) -> dict[str, Bools]:
        """Per input, which units lack it."""
        return {i.name: is_missing(i, inputs[i.name]) for i in self.inputs}


def is_missing(spec: Input, values: NDArray[Any] | Any) -> Bools:
    array = np.asarray(values, dtype=object)
    result = np.array([v is None for v in array.ravel()], dtype=bool).reshape(array.shape)
    if spec.kind == Kind.NUMBER:
        numbers = _numbers(array)
        result |= np.isnan(numbers)
    elif spec.kind == Kind.TEXT:
        result |= np.isin(array.astype(str), ("", *spec.unknown_values))
    return result


def _numbers(values: Any) -> Floats:
    array = np.asarray(values, dtype=object)
    return np.array(
        [np.nan if v is None else float(v) for v in array.ravel()], dtype=np.float64
    ).reshape(array.shape)


def number(inputs: Inputs, name: str) -> Floats:
    """A numeric input, NaN where missing."""
    return _numbers(inputs[name])


def flag(inputs: Inputs, name: str) -> Floats:
    """A yes/no input as 1.0/0.0 (missing counts as no)."""
    array = np.asarray(inputs[name], dtype=object)
    return np.array([1.0 if v is True or v == 1 else 0.0 for v in array.ravel()])


def equals(inputs: Inputs, name: str, value: str) -> Floats:
    array = np.asarray(inputs[name], dtype=object)
    result: Floats = (array == value).astype(np.float64)
    return result


def centred(values: Floats, centre: float) -> Floats:
    """`values - centre`, 0 where missing (the missing-value feature carries the signal)."""
    result: Floats = np.where(np.isnan(values), 0.0, values - centre)
    return result


def capped(values: Floats, cap: float) -> Floats:
    result: Floats = np.minimum(np.nan_to_num(values, nan=0.0), cap)
    return result


# --- incident type 2 diabetes within a year ------------------------------------------------

BLACK = "Black or African American"
ASIAN = "Asian"
HISPANIC = "Hispanic or Latino"
HBA1C_LOOKBACK_DAYS = 1095  # 3 x 365


def _t2d(inputs: Inputs) -> dict[str, Floats]:
    bmi, hba1c = number(inputs, "bmi"), number(inputs, "hba1c")
    return {
        "age_minus_50": number(inputs, "age_years") - 50.0,
        "male": equals(inputs, "sex", "male"),
        "bmi_minus_28": centred(bmi, 28.0),
        "bmi_missing": np.isnan(bmi).astype(np.float64),
        "hba1c_minus_5_4": centred(hba1c, 5.4),
        "hba1c_missing": np.isnan(hba1c).astype(np.float64),
        "hypertension": flag(inputs, "has_hypertension"),
        "hyperlipidemia": flag(inputs, "has_hyperlipidemia"),
        "black": equals(inputs, "race", BLACK),
        "hispanic": equals(inputs, "ethnicity", HISPANIC),
        "asian": equals(inputs, "race", ASIAN),
    }


INCIDENT_T2D = ModelSpec(
    name="incident_t2d_1y",
    spec_version="1",
    title="Incident type 2 diabetes within one year",
    outcome=(
        "A type 2 diabetes (ICD-10-CM E11.x) problem-list entry with onset in the year from "
        "the index date."
    ),
    unit=(
        "An adult (18+) without type 2 diabetes on the problem list, on an index date "
        "(1 January of each year after the tenant's first recorded year, and today)."
    ),
    mart="ml_t2d_features",
    key="index_date",
    outcome_column="has_incident_t2d",
    inputs=(
        Input("age_years", Kind.NUMBER, "Age in years (days / 365.25) on the index date."),
        Input(
            "sex",
            Kind.TEXT,
            "Administrative sex.",
            WhenMissing.ABSENT,
            unknown_values=("unknown",),
        ),
        Input("race", Kind.TEXT, "Race (OMB category).", WhenMissing.ABSENT),
        Input("ethnicity", Kind.TEXT, "Ethnicity.", WhenMissing.ABSENT),
        Input(
            "bmi",
            Kind.NUMBER,
            "Last BMI (LOINC 39156-5) recorded before the index date.",
            WhenMissing.INDICATOR,
        ),
        Input(
            "hba1c",
            Kind.NUMBER,
            f"Last HbA1c (LOINC 4548-4, %) before the index date, if at most "
            f"{HBA1C_LOOKBACK_DAYS} days old.",
            WhenMissing.INDICATOR,
        ),
        Input(
            "has_hypertension",
            Kind.FLAG,
            "Hypertension (I10) on the problem list with onset before the index date.",
        ),
        Input(
            "has_hyperlipidemia",
            Kind.FLAG,
            "Hyperlipidemia (E78.x) on the problem list with onset before the index date.",
        ),
    ),
    features=(
        Feature("age_minus_50", "age_years", "Age in years minus 50."),
        Feature("male", "sex", "Administrative sex male."),
        Feature("bmi_minus_28", "bmi", "Last BMI minus 28; 0 if none."),
        Feature("bmi_missing", "bmi", "No BMI recorded before the index date."),
        Feature("hba1c_minus_5_4", "hba1c", "Last HbA1c within 3 years minus 5.4; 0 if none."),
        Feature("hba1c_missing", "hba1c", "No HbA1c in the 3 years before the index date."),
        Feature("hypertension", "has_hypertension", "Hypertension on the problem list."),
        Feature("hyperlipidemia", "has_hyperlipidemia", "Hyperlipidemia on the problem list."),
        Feature("black", "race", "Race Black or African American."),
        Feature("hispanic", "ethnicity", "Ethnicity Hispanic or Latino."),
        Feature("asian", "race", "Race Asian."),
    ),
    encoder=_t2d,
    tiers=Tiers(medium_from=0.01, high_from=0.05),
    test_days=2 * 365,
    intended_use=(
        "Ranking adults without diabetes by their risk of a type 2 diabetes diagnosis in the "
        "next year, to prioritise screening (HbA1c) and prevention programmes. Decision "
        "support for clinicians and care managers, not a diagnosis."
    ),
    limits=(
        "Trained on the tenants' own records: a diagnosis the clinic never recorded is "
        "invisible, so risk is of a recorded diagnosis.",
        "Patients without a recent HbA1c or BMI are scored with missing-value features; "
        "their scores are less certain and say so.",
        "Race and ethnicity are inputs because risk differs by them; check the per-group "
        "metrics before acting on them for a group.",
        "Not validated for children, pregnancy or type 1 diabetes.",
    ),
)


# --- all-cause readmission within 30 days ---------------------------------------------------

SNF = "skilled_nursing_facility"
READMISSION_CAPS = {
    "prior_admissions_365d": 3.0,
    "ed_visits_180d": 3.0,
    "length_of_stay_days": 14.0,
}


def _readmission(inputs: Inputs) -> dict[str, Floats]:
    return {
        "age_minus_65": number(inputs, "age_years") - 65.0,
        "heart_failure": flag(inputs, "has_heart_failure"),
        "copd": flag(inputs, "has_copd"),
        "ckd": flag(inputs, "has_ckd"),
        "t2d": flag(inputs, "has_t2d"),
        "depression": flag(inputs, "has_depression"),
        **{name: capped(number(inputs, name), cap) for name, cap in READMISSION_CAPS.items()},
        "medicaid": flag(inputs, "is_medicaid"),
        "discharged_to_snf": equals(inputs, "discharge_disposition", SNF),
    }


def _condition(name: str, code: str) -> Input:
    return Input(
        f"has_{name}",
        Kind.FLAG,
        f"{code} on the problem list with onset before the admission date.",
    )


READMISSION_30D = ModelSpec(
    name="readmission_30d",
    spec_version="1",
    title="All-cause readmission within 30 days of discharge",
    outcome="Another inpatient admission 1-30 days after the discharge date.",
    unit=(
        "An inpatient stay, discharged alive (every stay, a readmission included, is an "
        "index stay)."
    ),
    mart="ml_readmission_features",
    key="index_encounter_id",
    outcome_column="is_readmitted_30d",
    inputs=(
        Input("age_years", Kind.NUMBER, "Age in years (days / 365.25) on the admission date."),
        _condition("heart_failure", "Heart failure (I50.x)"),
        _condition("copd", "COPD (J44.x)"),
        _condition("ckd", "Chronic kidney disease (N18.x)"),
        _condition("t2d", "Type 2 diabetes (E11.x)"),
        _condition("depression", "Depression (F32.x)"),
        Input(
            "prior_admissions_365d",
            Kind.NUMBER,
            "Inpatient discharges in the 365 days before the admission date.",
        ),
        Input(
            "ed_visits_180d",
            Kind.NUMBER,
            "Emergency visits in the 180 days before the admission date.",
        ),
        Input(
            "length_of_stay_days",
            Kind.NUMBER,
            "Discharge date minus admission date (unknown until discharge).",
        ),
        Input(
            "is_medicaid",
            Kind.FLAG,
            "Medicaid is the primary coverage on the admission date.",
        ),
        Input(
            "discharge_disposition",
            Kind.TEXT,
            "Where the patient went at discharge (unknown until discharge).",
        ),
    ),
    features=(
        Feature("age_minus_65", "age_years", "Age in years at admission minus 65."),
        Feature("heart_failure", "has_heart_failure", "Heart failure before the admission."),
        Feature("copd", "has_copd", "COPD before the admission."),
        Feature("ckd", "has_ckd", "Chronic kidney disease before the admission."),
        Feature("t2d", "has_t2d", "Type 2 diabetes before the admission."),
        Feature("depression", "has_depression", "Depression before the admission."),
        Feature(
            "prior_admissions_365d",
            "prior_admissions_365d",
            "Inpatient discharges in the prior 365 days, capped at 3.",
        ),
        Feature(
            "ed_visits_180d",
            "ed_visits_180d",
            "Emergency visits in the prior 180 days, capped at 3.",
        ),
        Feature(
            "length_of_stay_days", "length_of_stay_days", "Length of stay in days, capped at 14."
        ),
        Feature("medicaid", "is_medicaid", "Medicaid primary coverage on the admission date."),
        Feature(
            "discharged_to_snf",
            "discharge_disposition",
            "Discharged to a skilled nursing facility.",
        ),
    ),
    encoder=_readmission,
    tiers=Tiers(medium_from=0.10, high_from=0.20),
    test_days=2 * 365,
    intended_use=(
        "At discharge, ranking inpatients by their risk of readmission within 30 days, to "
        "target transitional care (follow-up call, early visit, medication reconciliation). "
        "Decision support, not a decision."
    ),
    limits=(
        "Readmissions to other hospitals are not in the record and are not counted.",
        "Scores a stay only once it is discharged (length of stay and disposition are inputs).",
        "Planned readmissions are not told apart from unplanned ones.",
    ),
)

MODELS: dict[str, ModelSpec] = {m.name: m for m in (INCIDENT_T2D, READMISSION_30D)}


def model_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"no risk model named {name!r}") from None
