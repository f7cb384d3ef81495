"""Argon2id password hashing and the password policy."""

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from transactional.errors import InvalidInput


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


@cache
def dummy_hash() -> str:
    """Verified against when the user does not exist, so timing does not reveal that."""
    return hash_password("not-a-real-password-only-for-constant-time")


def check_password_policy(password: str, *, email: str, min_length: int) -> None:
    if len(password) < min_length:
        raise InvalidInput(f"password must be at least {min_length} characters")
    if len(password) > 1024:
        raise InvalidInput("password must be at most 1024 characters")
    if password.strip().lower() == email.strip().lower():
        raise InvalidInput("password must differ from the e-mail address")
    if len(set(password)) < 4:
        raise InvalidInput("password is too repetitive")
