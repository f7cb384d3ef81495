"""Unit frames shaped like the feature marts, drawn from the generator's documented outcome
models (transactional/synthetic/model.py), for tests that need a trained model but not a
warehouse: registry, scoring, API."""

import uuid
from datetime import date, timedelta

import numpy as np
import polars as pl

from ml.features.spec import INCIDENT_T2D, READMISSION_30D, ModelSpec
from ml.registry import Registry
from ml.training import train
from ml.types import Floats
from transactional.synthetic import model as generator

T2D_COEFFICIENTS = {
    name.replace("a1c", "hba1c"): value for name, value in generator.T2D_COEFFICIENTS.items()
}


def documented_probability(spec: ModelSpec, features: Floats) -> Floats:
    """The generator's true probability of the outcome for encoded features."""
    if spec is INCIDENT_T2D:
        intercept, coefficients = generator.T2D_INTERCEPT, T2D_COEFFICIENTS
    else:
        intercept, coefficients = generator.READMIT_INTERCEPT, generator.READMIT_COEFFICIENTS
    logit = intercept + features @ np.array([coefficients[name] for name in spec.feature_names])
    result: Floats = 1.0 / (1.0 + np.exp(-logit))
    return result


def _t2d_inputs(rng: np.random.Generator, n: int) -> dict[str, object]:
    bmi = rng.normal(29, 5, n)
    hba1c = rng.normal(5.5, 0.4, n)
    return {
        "age_years": rng.uniform(18, 90, n),
        "sex": rng.choice(["female", "male"], n),
        "race": rng.choice(["White", "Black or African American", "Asian", "Other Race"], n),
        "ethnicity": rng.choice(["Hispanic or Latino", "Not Hispanic or Latino"], n),
        "bmi": np.where(rng.random(n) < 0.05, np.nan, bmi),
        "hba1c": np.where(rng.random(n) < 0.5, np.nan, hba1c),
        "has_hypertension": rng.random(n) < 0.25,
        "has_hyperlipidemia": rng.random(n) < 0.2,
    }


def _readmission_inputs(rng: np.random.Generator, n: int) -> dict[str, object]:
    return {
        "age_years": rng.uniform(18, 95, n),
        **{
            f"has_{name}": rng.random(n) < share
            for name, share in (
                ("heart_failure", 0.2),
                ("copd", 0.15),
                ("ckd", 0.2),
                ("t2d", 0.25),
                ("depression", 0.2),
            )
        },
        "prior_admissions_365d": rng.poisson(0.4, n),
        "ed_visits_180d": rng.poisson(0.3, n),
        "length_of_stay_days": 1 + rng.poisson(3, n),
        "is_medicaid": rng.random(n) < 0.15,
        "discharge_disposition": rng.choice(
            ["home", "home_health", "skilled_nursing_facility"], n, p=[0.7, 0.18, 0.12]
        ),
        "sex": rng.choice(["female", "male"], n),
        "race": rng.choice(["White", "Black or African American", "Asian"], n),
    }


def synthetic_units(spec: ModelSpec, *, n: int, seed: int, as_of: date) -> pl.DataFrame:
    """`n` units with complete outcome windows spread over the four years before `as_of`."""
    rng = np.random.default_rng(seed)
    values = _t2d_inputs(rng, n) if spec is INCIDENT_T2D else _readmission_inputs(rng, n)
    inputs = {name: np.asarray(values[name]) for name in spec.input_names}
    outcome = rng.random(n) < documented_probability(spec, spec.encode(inputs))
    if spec is INCIDENT_T2D:
        years = rng.integers(as_of.year - 4, as_of.year - 1, n)
        index = [date(int(y), 1, 1) for y in years]
        window_end = [date(d.year + 1, 1, 1) for d in index]
    else:
        index = [as_of - timedelta(days=int(d)) for d in rng.integers(31, 4 * 365, n)]
        window_end = [d + timedelta(days=30) for d in index]
    frame = pl.DataFrame(
        {
            "tenant_id": [str(uuid.UUID(int=1))] * n,
            "patient_id": [str(uuid.UUID(int=1000 + i)) for i in range(n)],
            "index_date": index,
            "window_end_date": window_end,
            "has_complete_window": [True] * n,
            "is_scoring_unit": [False] * n,
            **{name: values[name] for name in spec.input_names},
            "sex": values["sex"],
            "race": values["race"],
            spec.outcome_column: outcome,
        },
        strict=False,
    )
    if spec is READMISSION_30D:
        frame = frame.with_columns(
            index_encounter_id=pl.Series([str(uuid.UUID(int=10**6 + i)) for i in range(n)])
        )
    return frame


def register_synthetic(registry: Registry, *, n: int = 20_000, seed: int = 7) -> dict[str, str]:
    """Train both models on synthetic units and register them; their versions by name."""
    as_of = date(2026, 11, 22)
    versions = {}
    for spec in (INCIDENT_T2D, READMISSION_30D):
        units = synthetic_units(spec, n=n, seed=seed, as_of=as_of)
        versions[spec.name] = registry.register(
            train(spec, units, as_of=as_of, tenants=["synthetic"])
        )
    return versions
