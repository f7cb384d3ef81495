"""The generator in memory: determinism, the documented outcome models, AUROC."""

import uuid
from datetime import date

import numpy as np
import polars as pl
import pytest

from transactional.synthetic import model
from transactional.synthetic.achievable import auroc
from transactional.synthetic.seed import Population, generate

AS_OF = date(2026, 11, 22)
TENANT = uuid.UUID("00000000-0000-4000-8000-000000000001")


def _population(seed: int, patients: int = 400, slug: str = "det") -> Population:
    return generate(
        seed=seed,
        slug=slug,
        tenant_id=TENANT,
        patients=patients,
        as_of=AS_OF,
        mrn_numbers=list(range(1, patients + 1)),
    )


def _csv(frame: pl.DataFrame) -> str:
    lists = [n for n, t in frame.schema.items() if isinstance(t, pl.List)]
    return frame.with_columns(
        pl.col(n).cast(pl.List(pl.String)).list.join(",") for n in lists
    ).write_csv()


def test_same_seed_gives_the_same_rows_byte_for_byte() -> None:
    first, second = _population(7), _population(7)
    assert first.tables.keys() == second.tables.keys()
    for name in first.tables:
        assert _csv(first.tables[name]) == _csv(second.tables[name]), name


def test_another_seed_or_tenant_gives_other_rows() -> None:
    base = _population(7)
    other_seed, other_tenant = _population(8), _population(7, slug="other")
    assert _csv(base.tables["patients"]) != _csv(other_seed.tables["patients"])
    assert set(base.tables["patients"]["id"]).isdisjoint(other_tenant.tables["patients"]["id"])


def test_every_table_of_the_clinic_is_filled() -> None:
    tables = _population(3, patients=600).tables
    empty = [name for name, frame in tables.items() if frame.height == 0]
    assert empty == []
    assert tables["patients"].height == 600
    encounters = tables["encounters"]["encounter_class"].value_counts()
    assert set(encounters["encounter_class"]) == {"ambulatory", "emergency", "inpatient"}
    statuses = set(tables["appointments"]["status"])
    assert {"completed", "no_show", "cancelled"} <= statuses
    assert {"scheduled", "confirmed"} & statuses
    claims = set(tables["claims"]["status"])
    assert {"paid", "denied", "submitted"} <= claims
    assert (tables["claims"]["frequency_code"] == "7").any()
    assert (tables["lab_results"]["value_code"] == "LA9657-3").any() or len(
        tables["lab_results"].filter(pl.col("code") == "79714-2")
    )


def test_demographics_and_prevalence_follow_the_model() -> None:
    tables = _population(11, patients=6000).tables
    patients = tables["patients"]
    female = (patients["sex"] == "female").cast(pl.Float64).mean()
    assert isinstance(female, float) and 0.47 < female < 0.54
    ages = (AS_OF - patients["birth_date"]).dt.total_days() / 365.25
    elderly = (ages >= 65).cast(pl.Float64).mean()
    assert isinstance(elderly, float) and 0.13 < elderly < 0.21
    problems = tables["conditions"].filter(pl.col("category") == "problem_list_item")
    adults = patients.filter(ages >= 18)["id"]
    with_t2d = problems.filter(pl.col("code") == "E11.9")["patient_id"].unique()
    share = len(set(with_t2d) & set(adults)) / len(adults)
    assert 0.06 < share < 0.16, share
    # Prevalence rises with age: hypertension among the old far above the young adults.
    htn = set(problems.filter(pl.col("code") == "I10")["patient_id"])
    old = patients.filter(ages >= 65)["id"]
    young = patients.filter((ages >= 18) & (ages < 40))["id"]
    assert len(htn & set(old)) / len(old) > 4 * len(htn & set(young)) / len(young)


def test_the_documented_outcomes_carry_the_documented_signal() -> None:
    outcomes = _population(5, patients=20_000).outcomes()
    diabetes, readmission = outcomes["incident_t2d_1y"], outcomes["readmission_30d"]
    assert 0.006 < diabetes["rate"] < 0.02
    assert 0.82 < diabetes["achievable_auroc"] < 0.92
    assert 0.10 < readmission["rate"] < 0.22
    assert 0.64 < readmission["achievable_auroc"] < 0.78


def test_auroc_matches_hand_counted_pairs() -> None:
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.4])
    outcomes = np.array([False, False, True, True, True])
    # Positive/negative pairs ranked right: (0.35>0.1), (0.8>both), (0.4>0.1), tie 0.4=0.4.
    assert auroc(scores, outcomes) == pytest.approx((1 + 2 + 1.5) / 6)
    with pytest.raises(ValueError, match="both outcomes"):
        auroc(scores, np.ones(5, dtype=bool))


def test_outcome_probabilities_follow_their_coefficients() -> None:
    features = model.t2d_features(
        age=np.array([50.0, 50.0]),
        male=np.zeros(2),
        bmi=np.array([28.0, np.nan]),
        a1c=np.array([6.4, np.nan]),
        hypertension=np.zeros(2),
        hyperlipidemia=np.zeros(2),
        black=np.zeros(2),
        hispanic=np.zeros(2),
        asian=np.zeros(2),
    )
    probability = model.t2d_probability(features)
    expected_prediabetic = 1 / (1 + np.exp(-(model.T2D_INTERCEPT + 3.0 * 1.0)))
    expected_unmeasured = 1 / (1 + np.exp(-(model.T2D_INTERCEPT + 0.25 + 0.10)))
    assert probability == pytest.approx([expected_prediabetic, expected_unmeasured])
