"""Every rule threshold just below, at and above, on the pure evaluator.

Expected points and outcomes are written here from the published criteria, not read from
the rule files, so a wrong number in a rule file fails a test."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.cds.facts import (
    ALERT,
    CONFUSED,
    LOINC,
    PAIN,
    T0,
    UNRESPONSIVE,
    VOICE,
    consciousness,
    facts_of,
    measured,
    rule,
)
from transactional.cds.evaluate import evaluate, snapshot
from transactional.cds.types import Datum, Finding


def _score(finding: Finding | None) -> dict[str, Any]:
    assert finding is not None
    score = finding.data["score"]
    assert isinstance(score, dict)
    return score


def _criterion(finding: Finding, criterion_id: str) -> str:
    criteria = finding.data["criteria"]
    assert isinstance(criteria, list)
    return next(str(c["status"]) for c in criteria if c["id"] == criterion_id)


# --- hypertensive crisis (ACC/AHA 2017; inclusive thresholds as specified) -----------------


@pytest.mark.parametrize(
    ("systolic", "diastolic", "fires"),
    [
        (179, 100, False),
        (180, 100, True),
        (181, 100, True),
        (150, 119, False),
        (150, 120, True),
        (150, 121, True),
    ],
)
def test_hypertensive_crisis_thresholds(systolic: int, diastolic: int, fires: bool) -> None:
    finding = evaluate(
        rule("vitals.hypertensive_crisis"),
        facts_of("vitals.hypertensive_crisis", systolic=systolic, diastolic=diastolic),
    )
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.severity == "critical"
        assert finding.summary == f"Hypertensive crisis: BP {systolic}/{diastolic} mm Hg"
        assert finding.rule_id == "vitals.hypertensive_crisis" and finding.rule_version


# --- SIRS (Bone 1992): each criterion paired with one that is surely met -------------------


@pytest.mark.parametrize(
    ("criterion", "name", "value", "met"),
    [
        ("temperature", "temperature", "37.9", False),
        ("temperature", "temperature", "38", False),
        ("temperature", "temperature", "38.1", True),
        ("temperature", "temperature", "35.9", True),
        ("temperature", "temperature", "36", False),
        ("temperature", "temperature", "36.1", False),
        ("heart_rate", "heart_rate", 89, False),
        ("heart_rate", "heart_rate", 90, False),
        ("heart_rate", "heart_rate", 91, True),
        ("respiration", "respiratory_rate", 19, False),
        ("respiration", "respiratory_rate", 20, False),
        ("respiration", "respiratory_rate", 21, True),
        ("respiration", "paco2", 31, True),
        ("respiration", "paco2", 32, False),
        ("respiration", "paco2", 33, False),
        ("leukocytes", "leukocytes", "11.9", False),
        ("leukocytes", "leukocytes", "12", False),
        ("leukocytes", "leukocytes", "12.1", True),
        ("leukocytes", "leukocytes", "3.9", True),
        ("leukocytes", "leukocytes", "4", False),
        ("leukocytes", "leukocytes", "4.1", False),
        ("leukocytes", "band_forms", 9, False),
        ("leukocytes", "band_forms", 10, False),
        ("leukocytes", "band_forms", 11, True),
    ],
)
def test_sirs_criterion_thresholds(criterion: str, name: str, value: str | int, met: bool) -> None:
    partner: dict[str, str | int] = (
        {"temperature": "39"} if criterion == "heart_rate" else {"heart_rate": 120}
    )
    finding = evaluate(rule("vitals.sirs"), facts_of("vitals.sirs", **partner, **{name: value}))
    assert (finding is not None) is met
    if finding is not None:
        assert _criterion(finding, criterion) == "met"
        assert finding.data["met_count"] == 2 and finding.severity == "warning"


def test_sirs_needs_two_criteria_and_says_what_was_not_measured() -> None:
    sirs = rule("vitals.sirs")
    assert evaluate(sirs, facts_of("vitals.sirs", heart_rate=130)) is None
    finding = evaluate(sirs, facts_of("vitals.sirs", heart_rate=130, temperature="39.5"))
    assert finding is not None
    assert _criterion(finding, "respiration") == "unknown"
    assert _criterion(finding, "leukocytes") == "unknown"
    assert finding.data["missing"] == ["respiratory_rate", "paco2", "leukocytes", "band_forms"]
    assert "Not measured: respiration rate, arterial PaCO2, leukocyte count" in finding.rationale
    normal_rate = evaluate(
        sirs, facts_of("vitals.sirs", heart_rate=130, temperature="39.5", respiratory_rate=16)
    )
    assert normal_rate is not None and _criterion(normal_rate, "respiration") == "not_met"


def test_more_sirs_criteria_rank_higher() -> None:
    two = evaluate(rule("vitals.sirs"), facts_of("vitals.sirs", heart_rate=130, temperature=39))
    four = evaluate(
        rule("vitals.sirs"),
        facts_of("vitals.sirs", heart_rate=130, temperature=39, respiratory_rate=28, leukocytes=15),
    )
    assert two is not None and four is not None
    assert (two.rank, four.rank) == (2, 4)
    assert four.summary == "SIRS: 4 of 4 criteria met"


# --- qSOFA (Sepsis-3) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criterion", "name", "value", "met"),
    [
        ("respiration", "respiratory_rate", 21, False),
        ("respiration", "respiratory_rate", 22, True),
        ("respiration", "respiratory_rate", 23, True),
        ("systolic", "systolic", 99, True),
        ("systolic", "systolic", 100, True),
        ("systolic", "systolic", 101, False),
    ],
)
def test_qsofa_numeric_thresholds(criterion: str, name: str, value: int, met: bool) -> None:
    partner = {"systolic": 90} if criterion == "respiration" else {"respiratory_rate": 30}
    finding = evaluate(rule("vitals.qsofa"), facts_of("vitals.qsofa", **partner, **{name: value}))
    assert (finding is not None) is met
    if finding is not None:
        assert _criterion(finding, criterion) == "met"
        assert _criterion(finding, "mentation") == "unknown"


@pytest.mark.parametrize(
    ("answer", "altered"),
    [(ALERT, False), (CONFUSED, True), (VOICE, True), (PAIN, True), (UNRESPONSIVE, True)],
)
def test_qsofa_altered_mentation_is_anything_but_alert(answer: str, altered: bool) -> None:
    qsofa = rule("vitals.qsofa")
    data = [measured("respiratory_rate", 30), consciousness(answer)]
    finding = evaluate(qsofa, snapshot(qsofa, data))
    assert (finding is not None) is altered


# --- NEWS2 (RCP 2017 chart 1): every boundary of every parameter -----------------------------

# value:points, read from RCP 2017 chart 1: each boundary with the values just around it.
NEWS2_TABLE = {
    "respiratory_rate": "7:3 8:3 9:1 10:1 11:1 12:0 13:0 19:0 20:0 21:2 23:2 24:2 25:3 26:3",
    "oxygen_saturation": "90:3 91:3 92:2 93:2 94:1 95:1 96:0 97:0",
    "inspired_oxygen": "21:0 21.5:2 22:2 40:2",
    "systolic": "89:3 90:3 91:2 99:2 100:2 101:1 109:1 110:1 111:0 112:0 218:0 219:0 220:3 221:3",
    "heart_rate": "39:3 40:3 41:1 49:1 50:1 51:0 89:0 90:0 91:1 109:1 110:1 111:2 129:2 130:2"
    " 131:3 132:3",
    "temperature": "34.9:3 35.0:3 35.1:1 35.9:1 36.0:1 36.1:0 37.9:0 38.0:0 38.1:1 38.9:1 39.0:1"
    " 39.1:2 39.2:2",
}
NEWS2_POINTS = [
    (name, pair.split(":")[0], int(pair.split(":")[1]))
    for name, pairs in NEWS2_TABLE.items()
    for pair in pairs.split()
]


@pytest.mark.parametrize(("name", "value", "points"), NEWS2_POINTS)
def test_news2_parameter_points(name: str, value: str | int, points: int) -> None:
    finding = evaluate(rule("vitals.news2"), facts_of("vitals.news2", **{name: value}))
    assert finding is not None
    score = finding.data["score"]
    assert isinstance(score, dict)
    assert score["points"] == {name: points}
    assert score["total"] == points and score["partial"] is True


@pytest.mark.parametrize(
    ("answer", "points"),
    [(ALERT, 0), (CONFUSED, 3), (VOICE, 3), (PAIN, 3), (UNRESPONSIVE, 3)],
)
def test_news2_consciousness_points(answer: str, points: int) -> None:
    news2 = rule("vitals.news2")
    finding = evaluate(news2, snapshot(news2, [consciousness(answer)]))
    assert _score(finding)["points"] == {"consciousness": points}


NORMAL: dict[str, str | int] = {
    "respiratory_rate": 16,
    "oxygen_saturation": 97,
    "inspired_oxygen": 21,
    "systolic": 120,
    "heart_rate": 70,
    "temperature": "37.0",
}


def _full_set(**changes: str | int) -> list[Datum]:
    values = NORMAL | changes
    return [measured(name, value) for name, value in values.items()] + [consciousness(ALERT)]


@pytest.mark.parametrize(
    ("changes", "total", "band", "severity", "alerts"),
    [
        ({}, 0, "low", "info", False),
        ({"respiratory_rate": 21, "heart_rate": 111}, 4, "low", "info", False),
        (
            {"respiratory_rate": 21, "heart_rate": 111, "temperature": "38.1"},
            5,
            "medium",
            "warning",
            True,
        ),
        (
            {
                "respiratory_rate": 21,
                "heart_rate": 111,
                "temperature": "38.1",
                "oxygen_saturation": 95,
            },
            6,
            "medium",
            "warning",
            True,
        ),
        (
            {
                "respiratory_rate": 21,
                "heart_rate": 111,
                "temperature": "38.1",
                "oxygen_saturation": 95,
            }
            | {"systolic": 101},
            7,
            "high",
            "critical",
            True,
        ),
        (
            {
                "respiratory_rate": 21,
                "heart_rate": 111,
                "temperature": "38.1",
                "oxygen_saturation": 95,
            }
            | {"systolic": 100},
            8,
            "high",
            "critical",
            True,
        ),
        ({"respiratory_rate": 25}, 3, "low_medium", "warning", True),
        ({"respiratory_rate": 25, "temperature": "38.1"}, 4, "low_medium", "warning", True),
        ({"respiratory_rate": 25, "heart_rate": 111}, 5, "medium", "warning", True),
        ({"respiratory_rate": 24, "heart_rate": 91}, 3, "low", "info", False),
    ],
)
def test_news2_bands(
    changes: dict[str, str | int], total: int, band: str, severity: str, alerts: bool
) -> None:
    news2 = rule("vitals.news2")
    finding = evaluate(news2, snapshot(news2, _full_set(**changes)))
    assert finding is not None
    assert _score(finding) == _score(finding) | {
        "total": total,
        "band": band,
        "partial": False,
        "max_possible": total,
    }
    assert (finding.severity, finding.raise_alert) == (severity, alerts)
    assert finding.data["missing"] == []
    assert "partial" not in finding.summary


def test_a_worse_news2_band_ranks_higher() -> None:
    news2 = rule("vitals.news2")
    findings = [
        evaluate(news2, snapshot(news2, _full_set(**changes)))
        for changes in (
            {},
            {"respiratory_rate": 25},
            {"respiratory_rate": 25, "heart_rate": 111},
            {"respiratory_rate": 25, "heart_rate": 131, "systolic": 101},
        )
    ]
    ranks = [f.rank for f in findings if f is not None]
    assert ranks == sorted(ranks) and len(set(ranks)) == 4


def test_news2_never_scores_a_missing_parameter_as_normal() -> None:
    news2 = rule("vitals.news2")
    finding = evaluate(news2, facts_of("vitals.news2", systolic=85))
    assert finding is not None
    assert finding.data["missing"] == [
        "respiratory_rate",
        "oxygen_saturation",
        "inspired_oxygen",
        "heart_rate",
        "consciousness",
        "temperature",
    ]
    assert finding.data["score"] == {  # a lower bound: up to 20 with the missing ones
        "total": 3,
        "partial": True,
        "max_possible": 20,
        "band": "low_medium",
        "points": {"systolic": 3},
    }
    assert finding.summary == "NEWS2 3 (partial): low-medium clinical risk"
    assert "could be up to 20, so the band is a floor" in finding.rationale
    assert evaluate(news2, snapshot(news2, [])) is None  # nothing measured: no score at all


def test_a_partial_news2_of_seven_is_high() -> None:
    news2 = rule("vitals.news2")
    finding = evaluate(
        news2, facts_of("vitals.news2", respiratory_rate=26, systolic=88, heart_rate=112)
    )
    assert finding is not None and finding.severity == "critical"
    assert _score(finding)["band"] == "high"


# --- which data a rule sees -----------------------------------------------------------------


def test_the_window_ends_at_the_newest_value_and_the_newest_value_wins() -> None:
    crisis = rule("vitals.hypertensive_crisis")  # 60-minute window
    data = [
        measured("systolic", 200, minutes=-61),  # outside the window of the newest value
        measured("diastolic", 125, minutes=-60),  # on its edge: used
        measured("systolic", 130, minutes=-30),
        measured("systolic", 150, minutes=0),
    ]
    facts = snapshot(crisis, data)
    assert facts.as_of == T0
    assert facts.values["systolic"].value == Decimal(150)
    assert facts.values["diastolic"].value == Decimal(125)
    finding = evaluate(crisis, facts)
    assert finding is not None and "diastolic >= 120 mm Hg" in finding.rationale
    assert evaluate(crisis, snapshot(crisis, data[:1] + data[2:])) is None


def test_laboratory_inputs_keep_their_longer_window() -> None:
    sirs = rule("vitals.sirs")  # vitals 6 h, leukocytes 24 h
    data = [measured("heart_rate", 120), measured("leukocytes", 15, minutes=-23 * 60)]
    assert evaluate(sirs, snapshot(sirs, data)) is not None
    stale = [measured("heart_rate", 120), measured("leukocytes", 15, minutes=-25 * 60)]
    assert evaluate(sirs, snapshot(sirs, stale)) is None


def test_values_in_another_unit_are_converted_and_unconvertible_ones_ignored() -> None:
    news2 = rule("vitals.news2")
    fahrenheit = Datum(LOINC, "8310-5", T0, Decimal("102.38"), "[degF]")  # 39.1 Cel
    finding = evaluate(news2, snapshot(news2, [fahrenheit]))
    assert _score(finding)["points"] == {"temperature": 2}
    nonsense = Datum(LOINC, "8310-5", T0 + timedelta(minutes=1), Decimal(1), "kg")
    facts = snapshot(news2, [fahrenheit, nonsense])
    assert facts.values["temperature"].unit == "Cel"
    assert facts.values["temperature"].value == Decimal("39.1")
