"""CARC and RARC codes shipped in `data/`, and the group+reason form claims and remittances use.

A denial or an adjustment names a group code and a Claim Adjustment Reason Code ("CO-45",
"PR-2"); a denial may add a Remittance Advice Remark Code ("MA130"). Unknown codes are refused,
so a report grouping denials by reason never meets a code nobody can explain.
"""

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import MappingProxyType

from transactional.billing.types import GroupCode
from transactional.errors import InvalidInput

CARC_FILE = "claim_adjustment_reason_codes.csv"
RARC_FILE = "remittance_advice_remark_codes.csv"
_COLUMNS = ("code", "description")
_GROUP_AND_REASON = re.compile(r"^([A-Z]{2})-([A-Z0-9]{1,5})$")


@dataclass(frozen=True, slots=True)
class Reason:
    group: GroupCode
    code: str

    def __str__(self) -> str:
        return f"{self.group.value}-{self.code}"


@cache
def _codes(file: str) -> Mapping[str, str]:
    text = files("transactional.billing").joinpath("data", file).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        raise ValueError(f"{file} must have the columns {','.join(_COLUMNS)}")
    found: dict[str, str] = {}
    for row in reader:
        if row["code"] in found:
            raise ValueError(f"{file} lists {row['code']!r} twice")
        found[row["code"]] = row["description"]
    return MappingProxyType(found)


def adjustment_reasons() -> Mapping[str, str]:
    """CARC code -> short description."""
    return _codes(CARC_FILE)


def remark_codes() -> Mapping[str, str]:
    """RARC code -> short description."""
    return _codes(RARC_FILE)


def group_code(text: str) -> GroupCode:
    try:
        return GroupCode(text.strip().upper())
    except ValueError:
        names = ", ".join(group.value for group in GroupCode)
        raise InvalidInput(f"group code must be one of: {names}") from None


def reason(group: str, code: str) -> Reason:
    """A shipped CARC with its group; `InvalidInput` names what is unknown."""
    found = group_code(group)
    code = code.strip().upper()
    if code not in adjustment_reasons():
        raise InvalidInput(f"unknown claim adjustment reason code {code[:8]!r}")
    return Reason(found, code)


def parse_reason(text: str) -> Reason:
    """`"CO-16"` -> Reason(CO, "16")."""
    match = _GROUP_AND_REASON.match(text.strip().upper())
    if match is None:
        raise InvalidInput('a reason code is a group and a CARC, e.g. "CO-16" or "PR-1"')
    return reason(match.group(1), match.group(2))


def remark(code: str) -> str:
    code = code.strip().upper()
    if code not in remark_codes():
        raise InvalidInput(f"unknown remittance advice remark code {code[:8]!r}")
    return code
