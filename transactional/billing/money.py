"""Money at the edges: decimal strings in, integer cents inside, decimal strings out.

Amounts never pass through a float. The API takes dollars as strings with at most two
decimals ("125.50"), because a JSON number may already have been rounded by whoever wrote it.
"""

import re

from transactional.errors import InvalidInput

MAX_AMOUNT_CENTS = 100_000_000  # $1,000,000.00: larger is a typing error, not a bill
_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?$")


class AmountError(ValueError):
    """Why a text is not an acceptable amount; the message never repeats the text."""


def parse_amount(text: str) -> int:
    """`"125.5"` -> 12550. Refuses signs, exponents, fractional cents and huge values."""
    text = text.strip()
    if text.startswith("-"):
        raise AmountError("amounts must not be negative")
    if not _AMOUNT.match(text):
        raise AmountError('amounts are decimal strings with at most two decimals, e.g. "125.50"')
    whole, _, fraction = text.partition(".")
    cents = int(whole) * 100 + int(fraction.ljust(2, "0") or "0")
    if cents > MAX_AMOUNT_CENTS:
        raise AmountError(f"amounts may not exceed {format_cents(MAX_AMOUNT_CENTS)}")
    return cents


def format_cents(cents: int) -> str:
    """12550 -> `"125.50"`; negative amounts keep their sign."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole}.{fraction:02d}"


def check_cents(cents: int, *, what: str, allow_zero: bool = False) -> int:
    """The same bounds for services, whose callers pass cents (the API, imports, jobs)."""
    low = 0 if allow_zero else 1
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise InvalidInput(f"{what} must be a whole number of cents")
    if not low <= cents <= MAX_AMOUNT_CENTS:
        raise InvalidInput(
            f"{what} must be between {format_cents(low)} and {format_cents(MAX_AMOUNT_CENTS)}"
        )
    return cents
