"""The versioned model registry: one folder per model version under `state_dir/models`.

    models/index.json                     every version's files and their SHA-256
    models/<model>/<version>/model.skops  the fitted pipeline (skops, never pickle)
    models/<model>/<version>/card.json    the model card, machine-readable
    models/<model>/<version>/card.md      the model card, for people
    models/<model>/<version>/metrics.json test/train metrics, by group

Loading checks every file of the version against the index and refuses any mismatch, then
reads the skops file trusting only the types in TRUSTED_TYPES (none beyond skops' defaults
today: numpy, scikit-learn's Pipeline, StandardScaler, LogisticRegression), so a file that
would build anything else is refused before any of it is built. A model trained on another
version of its feature specification is refused too: its features would mean something else.

scikit-learn and skops are imported when a model is registered or loaded, not with this module:
the API and every `emr` command import it, and those two cost seconds to import.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from filelock import FileLock

from ml.features.spec import ModelSpec, model_spec
from ml.types import Floats
from transactional.settings import Settings

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from ml.training import TrainedModel

INDEX = "index.json"
MODEL_FILE = "model.skops"
FILES = (MODEL_FILE, "card.json", "card.md", "metrics.json")
# Types a model file may hold beyond those skops trusts by default. Empty on purpose: adding
# one is a reviewed code change, never a property of the file being loaded.
TRUSTED_TYPES: tuple[str, ...] = ()
_CACHE_SIZE = 32


class RegistryError(Exception):
    """A model cannot be registered or loaded; the message names the model and version."""


class NotRegistered(RegistryError):
    """The model has no registered version (or not the one asked for)."""


class IntegrityError(RegistryError):
    """A registered file does not match the SHA-256 the registry recorded for it."""


class UntrustedModel(RegistryError):
    """A model file holds types the registry does not trust, or not the expected pipeline."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class LoadedModel:
    """A verified model version, with its logistic regression unpacked for fast scoring."""

    spec: ModelSpec
    version: str
    card: dict[str, Any]
    pipeline: Pipeline
    intercept: float
    coefficients: Floats  # per standardized feature
    means: Floats
    scales: Floats

    @classmethod
    def of(
        cls, spec: ModelSpec, version: str, card: dict[str, Any], pipeline: Pipeline
    ) -> LoadedModel:
        scaler: StandardScaler = pipeline.named_steps["scale"]
        model: LogisticRegression = pipeline.named_steps["model"]
        return cls(
            spec=spec,
            version=version,
            card=card,
            pipeline=pipeline,
            intercept=float(model.intercept_[0]),
            coefficients=np.asarray(model.coef_[0], dtype=np.float64),
            means=np.asarray(scaler.mean_, dtype=np.float64),
            scales=np.asarray(scaler.scale_, dtype=np.float64),
        )

    def contributions(self, features: Floats) -> Floats:
        """Each feature's share of the log-odds: coefficient x standardized value."""
        result: Floats = (features - self.means) / self.scales * self.coefficients
        return result

    def scores(self, features: Floats) -> Floats:
        """The predicted probabilities (what `pipeline.predict_proba` gives, without its
        per-call overhead)."""
        logits = self.intercept + self.contributions(features).sum(axis=1)
        result: Floats = 1.0 / (1.0 + np.exp(-logits))
        return result


def _check_pipeline(pipeline: Any, spec: ModelSpec, where: str) -> Pipeline:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps = getattr(pipeline, "named_steps", None)
    if (
        not isinstance(pipeline, Pipeline)
        or steps is None
        or list(steps) != ["scale", "model"]
        or not isinstance(steps["scale"], StandardScaler)
        or not isinstance(steps["model"], LogisticRegression)
        or getattr(steps["model"], "n_features_in_", None) != len(spec.features)
    ):
        raise UntrustedModel(f"{where} is not a standardized logistic regression of its features")
    return pipeline


class _Verified:
    """What was already built from verified files, by their SHA-256 (bounded): a file whose
    bytes hash to a digest always builds the same thing, so a hit skips only the parsing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, Any] = {}

    def get(self, digest: str) -> Any:
        with self._lock:
            return self._items.get(digest)

    def put(self, digest: str, built: Any) -> None:
        with self._lock:
            if len(self._items) >= _CACHE_SIZE:
                self._items.pop(next(iter(self._items)))
            self._items[digest] = built


_verified = _Verified()


@dataclass(frozen=True)
class Registry:
    root: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> Registry:
        return cls(settings.state_dir / "models")

    # --- the index -----------------------------------------------------------------------
    def _index(self) -> dict[str, Any]:
        path = self.root / INDEX
        if not path.exists():
            return {"format": 1, "models": {}}
        index: dict[str, Any] = json.loads(path.read_text())
        return index

    def _write_index(self, index: dict[str, Any]) -> None:
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".index-")
        with os.fdopen(handle, "w") as out:
            json.dump(index, out, indent=2, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.root / INDEX)

    def _lock(self) -> FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(self.root / "index.lock", thread_local=False)

    def versions(self, model: str) -> list[str]:
        entry = self._index()["models"].get(model, {})
        return sorted(entry.get("versions", {}), key=int)

    def current_version(self, model: str) -> str | None:
        entry = self._index()["models"].get(model)
        return None if entry is None else str(entry["current"])

    # --- writing -------------------------------------------------------------------------
    def register(self, trained: TrainedModel) -> str:
        """Store a trained model as the model's next version and make it current."""
        import skops.io as sio

        from ml.cards import card_markdown, model_card

        spec = trained.spec
        with self._lock():
            index = self._index()
            entry = index["models"].setdefault(spec.name, {"current": None, "versions": {}})
            version = str(max((int(v) for v in entry["versions"]), default=0) + 1)
            card = model_card(trained, version=version)
            contents = {
                MODEL_FILE: sio.dumps(trained.pipeline),
                "card.json": json.dumps(card, indent=2, sort_keys=True).encode(),
                "card.md": card_markdown(card).encode(),
                "metrics.json": json.dumps(card["metrics"], indent=2, sort_keys=True).encode(),
            }
            folder = self.root / spec.name / version
            staging = Path(tempfile.mkdtemp(dir=self.root, prefix=".staging-"))
            for name, data in contents.items():
                (staging / name).write_bytes(data)
            folder.parent.mkdir(parents=True, exist_ok=True)
            if folder.exists():  # left by a crash between the move and the index update
                shutil.rmtree(folder)
            staging.rename(folder)
            entry["versions"][version] = {
                "registered_at": datetime.now(UTC).isoformat(),
                "spec_version": spec.spec_version,
                "files": {name: sha256(data) for name, data in contents.items()},
            }
            entry["current"] = version
            self._write_index(index)
        return version

    # --- reading -------------------------------------------------------------------------
    def _verified(self, model: str, version: str, name: str, expected: str) -> bytes:
        data = (self.root / model / version / name).read_bytes()
        if sha256(data) != expected:
            raise IntegrityError(
                f"{model} version {version}: {name} does not match the SHA-256 recorded in the "
                "registry; refusing to load it"
            )
        return data

    def load(self, model: str, version: str | None = None) -> LoadedModel:
        """The model's given (default: current) version, every file verified."""
        import skops.io as sio

        spec = model_spec(model)
        entry = self._index()["models"].get(model)
        if entry is None:
            raise NotRegistered(f"no registered version of {model}")
        version = version or str(entry["current"])
        recorded = entry["versions"].get(version)
        if recorded is None:
            raise NotRegistered(f"{model} has no version {version}")
        if recorded["spec_version"] != spec.spec_version:
            raise RegistryError(
                f"{model} version {version} was trained on feature specification "
                f"{recorded['spec_version']}, not the current {spec.spec_version}; retrain it"
            )
        files: dict[str, str] = recorded["files"]
        if set(files) != set(FILES):
            raise IntegrityError(f"{model} version {version}: the registry lists other files")
        blob = self._verified(model, version, MODEL_FILE, files[MODEL_FILE])
        card_text = self._verified(model, version, "card.json", files["card.json"])
        for name in ("card.md", "metrics.json"):
            self._verified(model, version, name, files[name])
        card: dict[str, Any] | None = _verified.get(files["card.json"])
        if card is None:
            card = json.loads(card_text)
            _verified.put(files["card.json"], card)
        pipeline: Pipeline | None = _verified.get(files[MODEL_FILE])
        if pipeline is None:
            where = f"{model} version {version}"
            untrusted = sorted(set(sio.get_untrusted_types(data=blob)) - set(TRUSTED_TYPES))
            if untrusted:
                raise UntrustedModel(f"{where} holds untrusted types: {', '.join(untrusted)}")
            pipeline = _check_pipeline(sio.loads(blob, trusted=list(TRUSTED_TYPES)), spec, where)
            _verified.put(files[MODEL_FILE], pipeline)
        return LoadedModel.of(spec, version, card, pipeline)
