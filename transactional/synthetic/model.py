"""The generative model of synthetic populations: distributions, coefficients, outcome models.

Everything a population is drawn from is here, as data, so that it can be read, documented
(MODEL.md) and tested in one place. Two outcomes are drawn from documented logistic models of
features that are *recorded* in the generated chart, computed exactly as a warehouse would
compute them, so a correctly specified model trained on the warehouse can recover them and
the achievable AUROC is the AUROC of the true probabilities (`achievable.py` measures it).
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]

HISTORY_YEARS = 5

# Age at the as-of date: (from, to, share), after the 2020 US Census.
AGE_BANDS = (
    (0, 5, 0.057),
    (5, 18, 0.164),
    (18, 25, 0.092),
    (25, 35, 0.137),
    (35, 45, 0.130),
    (45, 55, 0.122),
    (55, 65, 0.129),
    (65, 75, 0.100),
    (75, 85, 0.049),
    (85, 100, 0.020),
)
FEMALE_SHARE = 0.505

# (race as recorded, share, probability of Hispanic or Latino ethnicity), OMB categories.
RACES = (
    ("White", 0.62, 0.17),
    ("Black or African American", 0.13, 0.05),
    ("Asian", 0.06, 0.02),
    ("American Indian or Alaska Native", 0.01, 0.20),
    ("Native Hawaiian or Other Pacific Islander", 0.002, 0.10),
    ("Other Race", 0.078, 0.70),
    ("Two or More Races", 0.10, 0.30),
)
HISPANIC, NOT_HISPANIC = "Hispanic or Latino", "Not Hispanic or Latino"

CHRONIC = ("t2d", "htn", "hld", "ckd", "copd", "asthma", "hf", "depression", "cad")


def sigmoid(x: Floats) -> Floats:
    result: Floats = 1.0 / (1.0 + np.exp(-x))
    return result


@dataclass(frozen=True)
class Person:
    """Per-person covariates the logits read (arrays of one value per person)."""

    age: Floats
    male: Floats
    bmi: Floats
    black: Floats
    hispanic: Floats
    asian: Floats
    smoker: Floats  # current
    former_smoker: Floats


def prevalence_logits(p: Person, has: dict[str, Floats]) -> dict[str, Floats]:
    """Log-odds of having each chronic condition (adults; asthma at any age). Conditions are
    drawn in CHRONIC order, so a logit may read the ones drawn before it through `has`."""
    bmi = p.bmi - 27.0
    return {
        "t2d": -6.8
        + 0.072 * p.age
        + 0.11 * bmi
        + 0.5 * p.black
        + 0.45 * p.hispanic
        + 0.4 * p.asian
        + 0.15 * p.male,
        "htn": -5.5 + 0.08 * p.age + 0.07 * bmi + 0.6 * p.black + 0.5 * has.get("t2d", 0.0),
        "hld": -4.8 + 0.065 * p.age + 0.04 * bmi + 0.8 * has.get("t2d", 0.0),
        "ckd": -9.0 + 0.09 * p.age + 0.9 * has.get("t2d", 0.0) + 0.7 * has.get("htn", 0.0),
        "copd": -9.5 + 0.08 * p.age + 2.0 * p.smoker + 1.2 * p.former_smoker,
        "asthma": -2.6 + 0.3 * (1 - p.male) * (p.age >= 18) + 0.4 * p.black + 0.02 * bmi,
        "hf": -10.5
        + 0.09 * p.age
        + 0.9 * has.get("htn", 0.0)
        + 0.6 * has.get("t2d", 0.0)
        + 0.6 * has.get("ckd", 0.0)
        + 0.04 * bmi,
        "depression": -2.3 + 0.5 * (1 - p.male) - 0.01 * (p.age - 45) + 0.3 * has.get("copd", 0.0),
        "cad": -9.0
        + 0.08 * p.age
        + 0.6 * p.male
        + 0.5 * has.get("t2d", 0.0)
        + 0.5 * has.get("htn", 0.0)
        + 0.4 * has.get("hld", 0.0)
        + 0.6 * p.smoker,
    }


# A year's incidence of a condition (other than type 2 diabetes, which has its own documented
# model) has the log-odds of its prevalence shifted by this much.
INCIDENCE_SHIFT = -2.8
# Conditions that are adults' only (asthma can start at any age).
ADULT_ONLY = frozenset(CHRONIC) - {"asthma"}


# --- Outcome 1: incident type 2 diabetes within a calendar year --------------------------
#
# At risk: patients aged 18+ on 1 January of a history year after the first, with no type 2
# diabetes on their problem list. Features, from records dated strictly before 1 January:
#   age (years, on 1 January), male, last recorded BMI (39156-5; 28 and bmi_missing=1 if none),
#   last HbA1c (4548-4) within 3 years (5.4 and a1c_missing=1 if none), active hypertension
#   (I10) and hyperlipidemia (E78.x) on the problem list, Black, Hispanic, Asian.
# Outcome: a type 2 diabetes diagnosis (E11.x) with onset in that calendar year.
T2D_INTERCEPT = -5.9
T2D_COEFFICIENTS = {
    "age_minus_50": 0.025,
    "male": 0.15,
    "bmi_minus_28": 0.07,
    "bmi_missing": 0.25,
    "a1c_minus_5_4": 3.0,
    "a1c_missing": 0.10,
    "hypertension": 0.35,
    "hyperlipidemia": 0.20,
    "black": 0.30,
    "hispanic": 0.35,
    "asian": 0.30,
}


def t2d_features(
    *,
    age: Floats,
    male: Floats,
    bmi: Floats,
    a1c: Floats,
    hypertension: Floats,
    hyperlipidemia: Floats,
    black: Floats,
    hispanic: Floats,
    asian: Floats,
) -> dict[str, Floats]:
    """`bmi` and `a1c` are NaN when not recorded; the encoding is the documented one."""
    bmi_missing = np.isnan(bmi).astype(float)
    a1c_missing = np.isnan(a1c).astype(float)
    return {
        "age_minus_50": age - 50.0,
        "male": male,
        "bmi_minus_28": np.where(bmi_missing == 1, 0.0, bmi - 28.0),
        "bmi_missing": bmi_missing,
        "a1c_minus_5_4": np.where(a1c_missing == 1, 0.0, a1c - 5.4),
        "a1c_missing": a1c_missing,
        "hypertension": hypertension,
        "hyperlipidemia": hyperlipidemia,
        "black": black,
        "hispanic": hispanic,
        "asian": asian,
    }


def t2d_probability(features: dict[str, Floats]) -> Floats:
    logit = T2D_INTERCEPT + sum(T2D_COEFFICIENTS[k] * features[k] for k in T2D_COEFFICIENTS)
    return sigmoid(np.asarray(logit, dtype=np.float64))


# --- Outcome 2: all-cause readmission within 30 days of an inpatient discharge ------------
#
# Unit: an inpatient discharge (encounter class inpatient, status finished). Features, as of
# the admission:
#   age (years, at admission), active problem-list conditions with onset before the admission
#   (heart failure I50.x, COPD J44.x, CKD N18.x, type 2 diabetes E11.x, depression F32.x),
#   inpatient discharges in the 365 days before the admission (capped at 3), emergency visits
#   in the 180 days before the admission (capped at 3), length of stay in whole days (discharge
#   date minus admission date, capped at 14), Medicaid as the primary coverage on the admission
#   date, and discharge to a skilled nursing facility.
# Outcome: another inpatient admission 1-30 days after the discharge date.
READMIT_INTERCEPT = -2.45
READMIT_COEFFICIENTS = {
    "age_minus_65": 0.015,
    "heart_failure": 0.50,
    "copd": 0.35,
    "ckd": 0.30,
    "t2d": 0.15,
    "depression": 0.25,
    "prior_admissions_365d": 0.30,
    "ed_visits_180d": 0.20,
    "length_of_stay_days": 0.05,
    "medicaid": 0.30,
    "discharged_to_snf": 0.30,
}
READMIT_CAPS = {"prior_admissions_365d": 3, "ed_visits_180d": 3, "length_of_stay_days": 14}


def readmission_probability(features: dict[str, Floats]) -> Floats:
    logit = READMIT_INTERCEPT + sum(
        READMIT_COEFFICIENTS[k] * np.minimum(features[k], READMIT_CAPS.get(k, np.inf))
        for k in READMIT_COEFFICIENTS
    )
    return sigmoid(np.asarray(logit, dtype=np.float64))


# --- Utilisation (not outcomes: only shapes the chart) ------------------------------------
def admission_rate(age: Floats, has: dict[str, Floats]) -> Floats:
    """Expected inpatient admissions a year (besides readmissions)."""
    logit: Floats = (
        -5.2
        + 0.035 * age
        + 0.8 * has["hf"]
        + 0.6 * has["copd"]
        + 0.4 * has["ckd"]
        + 0.3 * has["t2d"]
        + 0.3 * has["cad"]
    )
    return sigmoid(logit)


def ed_rate(age: Floats, chronic_count: Floats, medicaid: Floats) -> Floats:
    return np.asarray(
        0.08 + 0.04 * np.minimum(chronic_count, 4) + 0.06 * (age < 5) + 0.08 * medicaid,
        dtype=np.float64,
    )


def office_visit_rate(age: Floats, chronic_count: Floats) -> Floats:
    """Problem-oriented office visits a year (the annual check-up comes on top)."""
    rate: Floats = 0.45 + 0.55 * np.minimum(chronic_count, 4) + 1.5 * (age < 2) + 0.3 * (age >= 65)
    return rate


CHECKUP_SHARE = 0.55  # of patients who come for a yearly check-up / wellness visit
NO_SHOW_SHARE = 0.07
CANCEL_SHARE = 0.08
FOLLOW_UP_DAYS_AFTER_AS_OF = 21  # booked appointments beyond the as-of date

# CYP2C19 metaboliser phenotype shares by ancestry (CPIC frequency tables, rounded).
CYP2C19_PHENOTYPES = ("ultrarapid", "rapid", "normal", "intermediate", "poor")
CYP2C19_SHARES = {
    "asian": (0.005, 0.04, 0.38, 0.45, 0.125),
    "other": (0.04, 0.23, 0.40, 0.30, 0.03),
}
CYP2C19_TEST_SHARE = 0.02  # genotyped without a reason (research, pre-emptive panels)
CYP2C19_TEST_SHARE_CAD = 0.6  # genotyped when coronary disease is diagnosed

# Payers: (name, payer type, share of people under 65 covered, denial rate, allowed share of
# charges, days from submission to payment (mean)).
PAYERS = (
    ("Medicare", "medicare", 0.0, 0.06, 0.55, 16),
    ("MassHealth (Medicaid)", "medicaid", 0.19, 0.12, 0.45, 38),
    ("Blue Cross Blue Shield", "commercial", 0.28, 0.09, 0.72, 26),
    ("Harvard Pilgrim", "commercial", 0.14, 0.08, 0.70, 28),
    ("Aetna", "commercial", 0.12, 0.10, 0.68, 30),
    ("UnitedHealthcare", "commercial", 0.12, 0.11, 0.66, 32),
    ("Cigna", "commercial", 0.07, 0.10, 0.67, 29),
    ("Self-pay", "self_pay", 0.08, 0.0, 1.0, 0),
)
PAYER_SWITCH_SHARE = 0.08  # under-65s who change payer in a year
MEDIGAP_SHARE = 0.3  # Medicare patients with a commercial secondary
# CARC denial reasons (group-reason) with their shares among denials.
DENIAL_REASONS = (
    ("CO-16", 0.32),
    ("CO-197", 0.14),
    ("CO-50", 0.12),
    ("CO-97", 0.10),
    ("CO-22", 0.09),
    ("CO-29", 0.05),
    ("CO-4", 0.08),
    ("CO-11", 0.10),
)
RESUBMIT_SHARE = 0.75  # of denied claims corrected and resubmitted
PATIENT_PAYS_SHARE = 0.72  # of patient balances paid
