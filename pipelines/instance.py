"""The local Dagster instance: run history and sensor state under the state folder.

`emr pipeline run` and `emr pipeline dev` share it, so runs started from the command line
show up in the web UI. A deployment sets `DAGSTER_HOME` itself (e.g. dagster-postgres storage).
"""

import os
from pathlib import Path

from dagster import DagsterInstance

from transactional.settings import Settings

_CONFIG = "telemetry:\n  enabled: false\n"


def dagster_home(settings: Settings) -> Path:
    configured = os.environ.get("DAGSTER_HOME")
    home = Path(configured) if configured else settings.state_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(_CONFIG)
    return home


def local_instance(settings: Settings) -> DagsterInstance:
    os.environ["DAGSTER_HOME"] = str(dagster_home(settings))
    return DagsterInstance.get()
