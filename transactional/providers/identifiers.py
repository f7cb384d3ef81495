"""Checks for practitioner identifiers: the NPI and NUCC taxonomy codes."""

import re

from transactional.errors import InvalidInput

# CMS: the NPI check digit is the Luhn digit of the nine-digit base prefixed with 80840,
# the ISO 7812 issuer prefix of US health identifiers.
_NPI_ISSUER_PREFIX = "80840"
_NPI = re.compile(r"^[0-9]{10}$")
# NUCC taxonomy codes are ten characters: three digits, six digits or capitals, then X.
_TAXONOMY = re.compile(r"^[0-9]{3}[0-9A-Z]{6}X$")
MAX_SPECIALTIES = 20


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def check_npi(npi: str) -> str:
    npi = npi.strip()
    if not _NPI.match(npi) or not luhn_valid(_NPI_ISSUER_PREFIX + npi):
        raise InvalidInput("npi must be 10 digits with a valid check digit")
    return npi


def check_specialty_codes(codes: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(code.strip().upper() for code in codes))
    if len(cleaned) > MAX_SPECIALTIES:
        raise InvalidInput(f"at most {MAX_SPECIALTIES} specialty codes")
    for code in cleaned:
        if not _TAXONOMY.match(code):
            raise InvalidInput("specialty codes must be NUCC taxonomy codes, e.g. 207Q00000X")
    return cleaned
