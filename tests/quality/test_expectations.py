"""The expectation data stays true to what it describes: the lab catalog and the dbt marts."""

from pathlib import Path

import yaml

from pipelines.quality import EXPECTATIONS, lab_limits, mart_expectations, vital_limits
from transactional.charting.vitals import BMI, VITAL_SIGNS
from transactional.orders.catalog import catalog


def test_every_quantitative_lab_test_has_plausibility_limits_in_its_unit() -> None:
    listed = yaml.safe_load((EXPECTATIONS / "lab_ranges.yml").read_text())["lab_ranges"]
    quantitative = {c: t for c, t in catalog().tests.items() if t.kind == "quantitative"}

    assert {str(item["code"]) for item in listed} == set(quantitative)
    for item in listed:
        test = quantitative[str(item["code"])]
        assert item["unit"] == test.unit, item["code"]
        assert item["low"] < item["high"], item["code"]


def test_plausibility_limits_contain_the_reference_and_critical_limits() -> None:
    limits = {limit.code: limit for limit in lab_limits().limits}
    for code, test in catalog().tests.items():
        if test.kind != "quantitative":
            continue
        candidates = (test.low, test.critical_low, test.high, test.critical_high)
        bounds = [b for b in candidates if b is not None]
        assert all(limits[code].low <= b <= limits[code].high for b in bounds), code


def test_vital_limits_are_the_charting_limits_with_bmi() -> None:
    limits = {limit.code: (limit.low, limit.high) for limit in vital_limits().limits}
    assert set(limits) == set(VITAL_SIGNS) | {BMI}
    assert all(limits[code] == (sign.low, sign.high) for code, sign in VITAL_SIGNS.items())


def test_every_mart_named_is_a_dbt_model_with_the_columns_checked(project_root: Path) -> None:
    models = {}
    for path in (project_root / "dbt_project" / "models" / "marts").rglob("*.yml"):
        for model in yaml.safe_load(path.read_text())["models"]:
            models[model["name"]] = {column["name"] for column in model.get("columns", [])}
    for mart in mart_expectations():
        assert mart.name in models, mart.name
        checked = {*mart.key, *mart.not_null, *mart.rates, *mart.counts}
        assert checked <= models[mart.name], (mart.name, checked - models[mart.name])
