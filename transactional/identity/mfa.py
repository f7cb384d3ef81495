"""TOTP second factor (RFC 6238) with an encrypted secret and replay protection."""

import uuid
from datetime import datetime

import pyotp

from transactional.identity.models import User
from transactional.secrets import Keyring

ISSUER = "EMR"
_STEP_SECONDS = 30


def _context(user_id: uuid.UUID) -> bytes:
    return b"users.mfa_secret_encrypted:" + user_id.bytes


def new_secret(*, user: User, keyring: Keyring) -> str:
    secret = pyotp.random_base32()
    user.mfa_secret_encrypted = keyring.encrypt(secret.encode(), context=_context(user.id))
    return secret


def provisioning_uri(*, secret: str, account: str, tenant_slug: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(
        name=account, issuer_name=f"{ISSUER} ({tenant_slug})"
    )


def verify_code(*, user: User, code: str, keyring: Keyring, now: datetime) -> bool:
    """Accept the current or an adjacent 30-second step, each step at most once."""
    if user.mfa_secret_encrypted is None or not code.isdigit() or len(code) != 6:
        return False
    secret = keyring.decrypt(user.mfa_secret_encrypted, context=_context(user.id)).decode()
    totp = pyotp.TOTP(secret)
    current_step = int(now.timestamp()) // _STEP_SECONDS
    for step in (current_step - 1, current_step, current_step + 1):
        if user.mfa_last_used_step is not None and step <= user.mfa_last_used_step:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            user.mfa_last_used_step = step
            return True
    return False
