"""Training and evaluation with plenty of data drawn from the documented outcome models:
what the population tests cannot afford (tests/ml/test_population.py explains why), the
machinery must deliver here. Features equal to the generator's (proved on a population) plus
this give the issue's criteria at scale."""

from datetime import date

import polars as pl
import pytest

from ml.features.spec import MODELS
from ml.training import inputs_of, time_split, train
from tests.ml.synthetic import documented_probability, synthetic_units
from transactional.synthetic.achievable import auroc

AS_OF = date(2026, 11, 22)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_with_enough_units_the_model_reaches_the_achievable_auroc_calibrated(name: str) -> None:
    spec = MODELS[name]
    units = synthetic_units(spec, n=150_000, seed=3, as_of=AS_OF)
    model = train(spec, units, as_of=AS_OF, tenants=["synthetic"])
    test_units = units.filter(pl.Series(time_split(units, test_days=spec.test_days).test))
    probability = documented_probability(spec, spec.encode(inputs_of(spec, test_units)))
    achievable = auroc(probability, test_units[spec.outcome_column].to_numpy().astype(bool))
    test = model.metrics["test"]
    assert test.auroc is not None and test.calibration_slope is not None
    assert achievable - 0.03 <= test.auroc <= achievable + 0.01
    assert 0.9 <= test.calibration_slope <= 1.1
    assert test.calibration_intercept is not None and abs(test.calibration_intercept) < 0.1
    assert model.counts["train_units"] + model.counts["test_units"] <= len(units)
