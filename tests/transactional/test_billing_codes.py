"""Money parsing and the shipped CARC/RARC code lists."""

import csv
from importlib.resources import files

import pytest

from transactional.billing.money import AmountError, check_cents, format_cents, parse_amount
from transactional.billing.reason_codes import (
    CARC_FILE,
    RARC_FILE,
    adjustment_reasons,
    parse_reason,
    remark,
    remark_codes,
)
from transactional.billing.types import GroupCode
from transactional.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("125.50", 12_550),
        ("125.5", 12_550),
        ("0", 0),
        ("0.01", 1),
        (" 7 ", 700),
        ("1000000", 100_000_000),
    ],
)
def test_amounts_parse_to_exact_cents(text: str, cents: int) -> None:
    assert parse_amount(text) == cents
    assert parse_amount(format_cents(cents)) == cents


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-1.00", "negative"),
        ("12.345", "at most two decimals"),
        ("1e3", "at most two decimals"),
        ("1,000.00", "at most two decimals"),
        ("007.00", "at most two decimals"),
        ("", "at most two decimals"),
        ("NaN", "at most two decimals"),
        ("1000000.01", "may not exceed 1000000.00"),
    ],
)
def test_bad_amounts_are_refused_without_echoing_them(text: str, message: str) -> None:
    with pytest.raises(AmountError, match=message) as caught:
        parse_amount(text)
    assert text.strip() == "" or text not in str(caught.value)


def test_services_check_cents_they_are_given() -> None:
    assert check_cents(0, what="a fee", allow_zero=True) == 0
    for bad in (0, -1, 100_000_001, 1.5, True):
        with pytest.raises(InvalidInput):
            check_cents(bad, what="a payment")  # type: ignore[arg-type]
    assert format_cents(-12_345) == "-123.45"


def test_the_code_lists_parse_and_name_their_source() -> None:
    data = files("transactional.billing").joinpath("data")
    for name in (CARC_FILE, RARC_FILE):
        rows = list(csv.DictReader(data.joinpath(name).read_text(encoding="utf-8").splitlines()))
        assert rows and all(row["code"] and row["description"] for row in rows)
        assert len({row["code"] for row in rows}) == len(rows)
    readme = data.joinpath("README.md").read_text(encoding="utf-8")
    assert "x12.org/codes/claim-adjustment-reason-codes" in readme
    assert "x12.org/codes/remittance-advice-remark-codes" in readme
    for code in ("1", "2", "3", "16", "45", "50", "197"):
        assert code in adjustment_reasons()
    assert adjustment_reasons()["16"].startswith("Claim/service lacks information")
    assert "MA130" in remark_codes()


def test_reasons_travel_as_group_and_code() -> None:
    assert str(parse_reason(" co-16 ")) == "CO-16"
    assert parse_reason("PR-1").group is GroupCode.PR
    assert remark("ma130") == "MA130"
    for bad in ("CO16", "CO-", "XX-16", "CO-12345"):
        with pytest.raises(InvalidInput):
            parse_reason(bad)
