"""Discrimination, calibration and drift metrics against cases with known answers."""

import numpy as np
import pytest

from ml.evaluation import age_band, by_group, calibration_curve, evaluate, recalibration
from ml.monitoring import psi
from ml.training import reference_distribution
from transactional.synthetic.achievable import auroc


def _draw(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(-2.0, 1.0, n)
    probability = 1 / (1 + np.exp(-logits))
    return probability, rng.random(n) < probability


def test_true_probabilities_are_calibrated_and_extreme_ones_are_not() -> None:
    probability, outcome = _draw(40_000, seed=1)
    fitted = recalibration(outcome, probability)
    assert abs(fitted.slope - 1) < 3 * fitted.slope_se
    assert abs(fitted.intercept) < 0.05
    logits = np.log(probability / (1 - probability))
    overconfident = 1 / (1 + np.exp(-2 * logits))
    assert recalibration(outcome, overconfident).slope == pytest.approx(0.5, abs=0.05)
    shifted = 1 / (1 + np.exp(-(logits - 0.5)))
    assert recalibration(outcome, shifted).intercept == pytest.approx(0.5, abs=0.05)


def test_metrics_agree_with_independent_computations() -> None:
    probability, outcome = _draw(5_000, seed=2)
    metrics = evaluate(outcome, probability)
    assert metrics.auroc == pytest.approx(auroc(probability, outcome), abs=1e-12)
    assert metrics.brier == pytest.approx(np.mean((probability - outcome) ** 2))
    assert metrics.units == 5_000 and metrics.events == int(outcome.sum())
    curve = calibration_curve(outcome, probability)
    assert len(curve) == 10 and sum(b.units for b in curve) == 5_000
    assert [b.mean_predicted for b in curve] == sorted(b.mean_predicted for b in curve)


def test_small_groups_get_no_metrics_and_suppressed_counts() -> None:
    probability, outcome = _draw(2_000, seed=3)
    groups = np.where(np.arange(2_000) < 30, "tiny", "large")
    results = by_group(outcome, probability, {"group": groups})["group"]
    assert results["tiny"].auroc is None and results["tiny"].brier is None
    assert results["tiny"].events is None or results["tiny"].events == 0
    assert results["large"].auroc is not None and results["large"].units == 1_970


def test_age_bands_are_the_warehouse_ones() -> None:
    assert age_band(np.array([17.9, 18.0, 34.99, 50.0, 64.5, 74.0, 84.9, 85.0])).tolist() == [
        "0-17",
        "18-34",
        "18-34",
        "50-64",
        "50-64",
        "65-74",
        "75-84",
        "85+",
    ]


def test_psi_is_zero_for_the_training_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(4)
    training = rng.beta(2, 20, 20_000)
    reference = reference_distribution(training)
    assert sum(reference["shares"]) == pytest.approx(1.0)
    same = psi(reference["edges"], reference["shares"], rng.beta(2, 20, 20_000))
    shifted = psi(reference["edges"], reference["shares"], rng.beta(4, 20, 20_000))
    assert same < 0.01
    assert shifted > 0.25
