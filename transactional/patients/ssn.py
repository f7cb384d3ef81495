"""US Social Security numbers: validated, encrypted at rest, searchable only by exact match.

The ciphertext is AES-256-GCM under the keyring's active key (so keys rotate), bound to the
tenant and patient as associated data. Search uses a keyed HMAC ("blind index") of the digits,
which reveals nothing without the key. Only the last four digits are kept in clear, for
masked display.
"""

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass

from transactional.errors import InvalidInput
from transactional.secrets import Keyring

_SSN = re.compile(r"^(\d{3})-?(\d{2})-?(\d{4})$")


@dataclass(frozen=True)
class SealedSsn:
    ciphertext: bytes
    blind_index: str
    last4: str


def normalize_ssn(text: str) -> str:
    """Nine digits, or InvalidInput for a number the SSA never issues."""
    match = _SSN.match(text.strip())
    if match is None:
        raise InvalidInput("ssn must be nine digits, e.g. 123-45-6789")
    area, group, serial = match.groups()
    if area in ("000", "666") or area.startswith("9") or group == "00" or serial == "0000":
        raise InvalidInput("ssn is not a number that can be issued")
    return area + group + serial


def blind_index(digits: str, *, key: bytes) -> str:
    return hmac.new(key, b"ssn:" + digits.encode(), hashlib.sha256).hexdigest()


def _context(tenant_id: uuid.UUID, patient_id: uuid.UUID) -> bytes:
    return b"patients.ssn:" + tenant_id.bytes + patient_id.bytes


def seal_ssn(
    text: str, *, tenant_id: uuid.UUID, patient_id: uuid.UUID, keyring: Keyring, index_key: bytes
) -> SealedSsn:
    digits = normalize_ssn(text)
    return SealedSsn(
        ciphertext=keyring.encrypt(digits.encode(), context=_context(tenant_id, patient_id)),
        blind_index=blind_index(digits, key=index_key),
        last4=digits[-4:],
    )


def open_ssn(
    ciphertext: bytes, *, tenant_id: uuid.UUID, patient_id: uuid.UUID, keyring: Keyring
) -> str:
    digits = keyring.decrypt(ciphertext, context=_context(tenant_id, patient_id)).decode()
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


def mask(last4: str | None) -> str | None:
    return f"***-**-{last4}" if last4 else None
