"""Key material: the JWT signing secret and the field-encryption keyring.

Production sets `EMR_JWT_SECRET` and `EMR_ENCRYPTION_KEYS`. Without them, keys are generated
once into `state_dir/secrets.json` (mode 0600) so the embedded set-up works out of the box.
"""

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from transactional.settings import Settings


class KeyMaterialError(ValueError):
    """Malformed or missing key material."""


@dataclass(frozen=True)
class Keyring:
    """AES-256-GCM keys by id; the first encrypts, all decrypt, so keys can rotate."""

    keys: dict[str, bytes]
    active_key_id: str

    def encrypt(self, plaintext: bytes, *, context: bytes) -> bytes:
        """`context` (e.g. table, column and row id) is bound as associated data, so a
        ciphertext copied to another row or column no longer decrypts."""
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.active_key_id]).encrypt(nonce, plaintext, context)
        return self.active_key_id.encode() + b":" + nonce + sealed

    def decrypt(self, blob: bytes, *, context: bytes) -> bytes:
        key_id, _, rest = blob.partition(b":")
        key = self.keys.get(key_id.decode())
        if key is None:
            raise KeyMaterialError("ciphertext was sealed with a key that is not configured")
        return AESGCM(key).decrypt(rest[:12], rest[12:], context)


@dataclass(frozen=True)
class Secrets:
    jwt_secret: str
    keyring: Keyring
    blind_index_key: bytes
    """HMAC key for exact-match search on encrypted fields (e.g. SSN); unlike the
    encryption keys it cannot rotate without recomputing every index value."""


def _parse_keys(spec: str) -> Keyring:
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, sep, encoded = item.partition(":")
        if not sep or not key_id or ":" in key_id:
            raise KeyMaterialError("EMR_ENCRYPTION_KEYS entries must look like key_id:base64key")
        key = base64.b64decode(encoded, validate=True)
        if len(key) != 32:
            raise KeyMaterialError(f"encryption key {key_id!r} must be 32 bytes (AES-256)")
        keys[key_id] = key
    if not keys:
        raise KeyMaterialError("EMR_ENCRYPTION_KEYS holds no key")
    return Keyring(keys=keys, active_key_id=next(iter(keys)))


def _generated(path: Path) -> dict[str, str]:
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = {
        "jwt_secret": secrets.token_urlsafe(48),
        "encryption_keys": "k1:" + base64.b64encode(os.urandom(32)).decode(),
        "blind_index_key": base64.b64encode(os.urandom(32)).decode(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(fresh, handle)
    return fresh


def _blind_index_key(encoded: str) -> bytes:
    key = base64.b64decode(encoded, validate=True)
    if len(key) < 32:
        raise KeyMaterialError("EMR_BLIND_INDEX_KEY must be at least 32 bytes (base64)")
    return key


def load_secrets(settings: Settings) -> Secrets:
    generated: dict[str, str] = {}
    configured = (settings.jwt_secret, settings.encryption_keys, settings.blind_index_key)
    if any(value is None for value in configured):
        generated = _generated(settings.state_dir / "secrets.json")
    jwt_secret = (
        settings.jwt_secret.get_secret_value() if settings.jwt_secret else generated["jwt_secret"]
    )
    if len(jwt_secret) < 32:
        raise KeyMaterialError("EMR_JWT_SECRET must be at least 32 characters")
    keys = (
        settings.encryption_keys.get_secret_value()
        if settings.encryption_keys
        else generated["encryption_keys"]
    )
    blind = (
        settings.blind_index_key.get_secret_value()
        if settings.blind_index_key
        else generated["blind_index_key"]
    )
    return Secrets(
        jwt_secret=jwt_secret, keyring=_parse_keys(keys), blind_index_key=_blind_index_key(blind)
    )
