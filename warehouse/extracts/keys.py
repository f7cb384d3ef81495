"""The extract key: keys patient pseudonyms and date offsets (deidentify.py).

Production sets `EMR_EXTRACT_KEY` (base64 of 32+ bytes). Without it a key is generated once
into `state_dir/secrets.json` beside the other generated secrets (transactional/secrets.py),
so extracts made on one installation keep giving a patient the same pseudonym. Rotating the
key breaks that linkage on purpose.
"""

import base64
import json
import os
import secrets
from pathlib import Path

from filelock import FileLock

from transactional.secrets import KeyMaterialError, load_secrets
from transactional.settings import Settings

FIELD = "extract_key"


def _decoded(encoded: str) -> bytes:
    key = base64.b64decode(encoded, validate=True)
    if len(key) < 32:
        raise KeyMaterialError("EMR_EXTRACT_KEY must be at least 32 bytes (base64)")
    return key


def _stored(path: Path) -> dict[str, str]:
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    return stored


def extract_key(settings: Settings) -> bytes:
    if settings.extract_key is not None:
        return _decoded(settings.extract_key.get_secret_value())
    path = settings.state_dir / "secrets.json"
    if not path.exists():
        load_secrets(settings)  # writes the generated secrets file when it is needed
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.with_name(path.name + ".lock")):
        stored = _stored(path)
        if FIELD not in stored:
            stored[FIELD] = base64.b64encode(secrets.token_bytes(32)).decode()
            partial = path.with_name(path.name + ".partial")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(stored, handle)
            partial.replace(path)
        return _decoded(stored[FIELD])
