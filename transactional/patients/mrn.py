"""Medical record numbers: per tenant, sequential, never reused, with a Luhn check digit.

Eight digits, shown as `1234-5678`: seven of sequence and one check digit, so a mistyped digit
or two swapped neighbours are caught before a chart is opened for the wrong patient.
"""

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

_DIGITS = 7
_OFFSET = 1_000_000  # the first MRN is 1000-0016: no leading zeros to drop or misread
_FORMAT = re.compile(r"^\d{4}-?\d{4}$")


def luhn_check_digit(number: str) -> int:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def format_mrn(sequence: int) -> str:
    body = f"{sequence + _OFFSET:0{_DIGITS}d}"
    if len(body) > _DIGITS:
        raise OverflowError("MRN sequence exhausted for this tenant")
    digits = body + str(luhn_check_digit(body))
    return f"{digits[:4]}-{digits[4:]}"


def normalize_mrn(text: str) -> str | None:
    """The canonical `1234-5678` form, or None if `text` is not a well-formed, valid MRN."""
    text = text.strip()
    if not _FORMAT.match(text):
        return None
    digits = text.replace("-", "")
    if luhn_check_digit(digits[:-1]) != int(digits[-1]):
        return None
    return f"{digits[:4]}-{digits[4:]}"


def allocate_mrn(*, session: Session) -> str:
    """The next MRN of the tenant bound to the transaction, from its own sequence
    (migration 0007): concurrent registrations never wait for each other, and a number
    once handed out is never handed out again, even if its registration rolls back."""
    sequence: Any = session.execute(select(func.app_next_mrn())).scalar_one()
    return format_mrn(sequence)
