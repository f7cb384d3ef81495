"""The model registry: versions with cards and hashes, verified loading, refused files."""

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from ml.features.spec import INCIDENT_T2D, READMISSION_30D
from ml.registry import IntegrityError, Registry, RegistryError, UntrustedModel, sha256
from ml.scoring import Refusal, Scored, score_inputs
from ml.training import inputs_of, predict, train
from tests.ml.synthetic import register_synthetic, synthetic_units

AS_OF = date(2026, 11, 22)


def _reference_frame_scorer(x: np.ndarray) -> np.ndarray:
    """A function only this test module defines: no registry may trust it."""
    return x


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    registry = Registry(tmp_path_factory.mktemp("models") / "models")
    register_synthetic(registry)
    return registry


def _replace_model_file(registry: Registry, model: str, version: str, blob: bytes) -> None:
    """What an attacker with write access to both the file and the index could do."""
    (registry.root / model / version / "model.skops").write_bytes(blob)
    index = json.loads((registry.root / "index.json").read_text())
    index["models"][model]["versions"][version]["files"]["model.skops"] = sha256(blob)
    (registry.root / "index.json").write_text(json.dumps(index))


def test_each_registration_is_a_new_version_with_its_card_metrics_and_hashes(
    registry: Registry,
) -> None:
    units = synthetic_units(INCIDENT_T2D, n=3000, seed=11, as_of=AS_OF)
    version = registry.register(train(INCIDENT_T2D, units, as_of=AS_OF, tenants=["a"]))
    assert registry.versions(INCIDENT_T2D.name)[-2:] == [str(int(version) - 1), version]
    assert registry.current_version(INCIDENT_T2D.name) == version
    folder = registry.root / INCIDENT_T2D.name / version
    index = json.loads((registry.root / "index.json").read_text())
    files = index["models"][INCIDENT_T2D.name]["versions"][version]["files"]
    assert set(files) == {"model.skops", "card.json", "card.md", "metrics.json"}
    for name, digest in files.items():
        assert sha256((folder / name).read_bytes()) == digest
    card = json.loads((folder / "card.json").read_text())
    assert card["data_window"]["as_of"] == "2026-11-22"
    assert card["data_window"]["train_outcomes_through"] <= card["data_window"]["test_from"]
    assert [f["name"] for f in card["features"]] == INCIDENT_T2D.feature_names
    assert set(card["metrics"]["test_by_group"]) == {"sex", "age_band", "race"}
    assert card["intended_use"] and card["limits"]
    assert 0.5 < card["metrics"]["test"]["auroc"] <= 1.0
    markdown = (folder / "card.md").read_text()
    for section in ("## Intended use", "## Limits", "## Data", "## Features", "## Metrics"):
        assert section in markdown
    assert json.loads((folder / "metrics.json").read_text()) == card["metrics"]


def test_a_loaded_model_scores_like_its_pipeline(registry: Registry) -> None:
    loaded = registry.load(READMISSION_30D.name)
    units = synthetic_units(READMISSION_30D, n=500, seed=12, as_of=AS_OF)
    features = READMISSION_30D.encode(inputs_of(READMISSION_30D, units))
    assert np.allclose(loaded.scores(features), predict(loaded.pipeline, features), atol=1e-12)


def test_a_file_that_does_not_match_its_hash_is_refused(registry: Registry) -> None:
    model = READMISSION_30D.name
    version = registry.current_version(model)
    assert version is not None
    path = registry.root / model / version / "model.skops"
    original = path.read_bytes()
    path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    try:
        with pytest.raises(IntegrityError, match="does not match the SHA-256"):
            registry.load(model)
    finally:
        path.write_bytes(original)
    card = registry.root / model / version / "card.json"
    saved = card.read_text()
    card.write_text(saved.replace('"title"', '"title" ', 1))
    try:
        with pytest.raises(IntegrityError, match=r"card\.json does not match"):
            registry.load(model)
    finally:
        card.write_text(saved)
    assert registry.load(model).version == version


def test_a_file_holding_untrusted_types_is_refused_before_it_is_built(
    tmp_path: Path,
) -> None:
    registry = Registry(tmp_path / "models")
    register_synthetic(registry, n=3000)
    model = INCIDENT_T2D.name
    evil = Pipeline(
        [("scale", FunctionTransformer(_reference_frame_scorer)), ("model", StandardScaler())]
    )
    evil.fit(np.zeros((3, len(INCIDENT_T2D.features))))
    _replace_model_file(registry, model, "1", sio.dumps(evil))
    with pytest.raises(UntrustedModel, match=r"untrusted types: .*_reference_frame_scorer"):
        registry.load(model)


def test_a_trusted_file_that_is_not_the_expected_pipeline_is_refused(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "models")
    register_synthetic(registry, n=3000)
    bare = LogisticRegression().fit(np.eye(11)[:4], [0, 1, 0, 1])
    _replace_model_file(registry, READMISSION_30D.name, "1", sio.dumps(bare))
    with pytest.raises(UntrustedModel, match="not a standardized logistic regression"):
        registry.load(READMISSION_30D.name)


def test_a_model_of_another_feature_specification_or_unknown_version_is_refused(
    tmp_path: Path,
) -> None:
    registry = Registry(tmp_path / "models")
    with pytest.raises(RegistryError, match="no registered version"):
        registry.load(INCIDENT_T2D.name)
    register_synthetic(registry, n=3000)
    with pytest.raises(RegistryError, match="has no version 9"):
        registry.load(INCIDENT_T2D.name, "9")
    index = json.loads((registry.root / "index.json").read_text())
    index["models"][INCIDENT_T2D.name]["versions"]["1"]["spec_version"] = "0"
    (registry.root / "index.json").write_text(json.dumps(index))
    with pytest.raises(RegistryError, match="feature specification 0"):
        registry.load(INCIDENT_T2D.name)


def test_scores_name_missing_inputs_and_refuse_without_required_ones(registry: Registry) -> None:
    loaded = registry.load(READMISSION_30D.name)
    base: dict[str, list[Any]] = {
        "age_years": [70.0, 70.0],
        "has_heart_failure": [True, True],
        "has_copd": [False, False],
        "has_ckd": [True, True],
        "has_t2d": [False, False],
        "has_depression": [False, False],
        "prior_admissions_365d": [2, 2],
        "ed_visits_180d": [1, 1],
        "length_of_stay_days": [6, None],
        "is_medicaid": [True, True],
        "discharge_disposition": ["skilled_nursing_facility", None],
    }
    scored, refused = score_inputs(loaded, base)
    assert isinstance(refused, Refusal)
    assert refused.missing_inputs == ["length_of_stay_days", "discharge_disposition"]
    assert isinstance(scored, Scored) and scored.missing_inputs == []
    assert 0 < scored.score < 1 and scored.tier in ("low", "medium", "high")
    contributions = [f["contribution"] for f in scored.factors]
    assert 0 < len(contributions) <= 3 and contributions == sorted(contributions, reverse=True)
    assert all(c > 0 for c in contributions)
    names = [f["name"] for f in scored.factors]
    assert "heart_failure" in names
    heart = next(f for f in scored.factors if f["name"] == "heart_failure")
    assert heart["value"] is True

    t2d = registry.load(INCIDENT_T2D.name)
    (result,) = score_inputs(
        t2d,
        {
            "age_years": [55.0],
            "sex": ["unknown"],
            "race": [None],
            "ethnicity": ["Not Hispanic or Latino"],
            "bmi": [None],
            "hba1c": [6.2],
            "has_hypertension": [True],
            "has_hyperlipidemia": [False],
        },
    )
    assert isinstance(result, Scored)
    assert result.missing_inputs == ["sex", "race", "bmi"]
    assert result.factors[0] == {
        "name": "hba1c_minus_5_4",
        "value": 6.2,
        "contribution": pytest.approx(result.factors[0]["contribution"]),
    }
