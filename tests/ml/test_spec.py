"""The feature specification: encodings, missing inputs, refusals and tiers."""

import numpy as np

from ml.features.spec import INCIDENT_T2D, MODELS, READMISSION_30D, WhenMissing


def test_t2d_encoding_is_the_documented_one_with_missing_indicators() -> None:
    features = INCIDENT_T2D.encode(
        {
            "age_years": [62.0, 30.0],
            "sex": ["male", "female"],
            "race": ["Black or African American", None],
            "ethnicity": ["Hispanic or Latino", "Not Hispanic or Latino"],
            "bmi": [31.5, None],
            "hba1c": [None, 6.0],
            "has_hypertension": [True, False],
            "has_hyperlipidemia": [False, True],
        }
    )
    names = INCIDENT_T2D.feature_names
    first = dict(zip(names, features[0], strict=True))
    second = dict(zip(names, features[1], strict=True))
    assert first == {
        "age_minus_50": 12.0,
        "male": 1.0,
        "bmi_minus_28": 3.5,
        "bmi_missing": 0.0,
        "hba1c_minus_5_4": 0.0,
        "hba1c_missing": 1.0,
        "hypertension": 1.0,
        "hyperlipidemia": 0.0,
        "black": 1.0,
        "hispanic": 1.0,
        "asian": 0.0,
    }
    assert second["bmi_missing"] == 1.0 and second["bmi_minus_28"] == 0.0
    assert np.isclose(second["hba1c_minus_5_4"], 0.6) and second["hba1c_missing"] == 0.0
    assert second["black"] == 0.0 and second["male"] == 0.0


def test_readmission_counts_and_length_of_stay_are_capped() -> None:
    features = READMISSION_30D.encode(
        {
            "age_years": [80.0],
            "has_heart_failure": [True],
            "has_copd": [False],
            "has_ckd": [True],
            "has_t2d": [False],
            "has_depression": [False],
            "prior_admissions_365d": [7],
            "ed_visits_180d": [2],
            "length_of_stay_days": [20],
            "is_medicaid": [True],
            "discharge_disposition": ["skilled_nursing_facility"],
        }
    )
    encoded = dict(zip(READMISSION_30D.feature_names, features[0], strict=True))
    assert encoded["prior_admissions_365d"] == 3.0
    assert encoded["ed_visits_180d"] == 2.0
    assert encoded["length_of_stay_days"] == 14.0
    assert encoded["discharged_to_snf"] == 1.0 and encoded["age_minus_65"] == 15.0


def test_missing_inputs_are_detected_per_unit_including_unknown_values() -> None:
    missing = INCIDENT_T2D.missing(
        {
            "age_years": [50.0, float("nan")],
            "sex": ["unknown", "female"],
            "race": ["", "Asian"],
            "ethnicity": [None, "Hispanic or Latino"],
            "bmi": [np.nan, 25.0],
            "hba1c": [5.9, None],
            "has_hypertension": [False, None],
            "has_hyperlipidemia": [False, False],
        }
    )
    assert [name for name, lacking in missing.items() if lacking[0]] == [
        "sex",
        "race",
        "ethnicity",
        "bmi",
    ]
    assert [name for name, lacking in missing.items() if lacking[1]] == [
        "age_years",
        "hba1c",
        "has_hypertension",
    ]


def test_every_model_refuses_without_age_and_features_name_their_inputs() -> None:
    for spec in MODELS.values():
        assert spec.input("age_years").when_missing == WhenMissing.REFUSE
        assert {f.source for f in spec.features} <= set(spec.input_names)
        assert len(set(spec.feature_names)) == len(spec.features)
    assert READMISSION_30D.input("length_of_stay_days").when_missing == WhenMissing.REFUSE
    assert INCIDENT_T2D.input("hba1c").when_missing == WhenMissing.INDICATOR


def test_tiers_follow_the_documented_thresholds() -> None:
    tiers = INCIDENT_T2D.tiers.of(np.array([0.0, 0.0099, 0.01, 0.049, 0.05, 0.9]))
    assert tiers.tolist() == ["low", "low", "medium", "medium", "high", "high"]
    assert READMISSION_30D.tiers.of(np.array([0.09, 0.1, 0.2])).tolist() == [
        "low",
        "medium",
        "high",
    ]
