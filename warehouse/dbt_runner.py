"""Running dbt on our warehouse as a subprocess, configured from `Settings`.

dbt runs in a process of its own (`emr-dbt`, the chDB shim in front of dbt's CLI): dbt keeps
global state per process, and in embedded mode the chDB engine it opens must close when dbt is
done so that other processes can open the warehouse again. `dbt_environment` is the one place
that turns settings into the variables `dbt_project/profiles.yml` reads.
"""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlsplit

from transactional.settings import PROJECT_ROOT, Settings

PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXECUTABLE = "emr-dbt"


class DbtFailed(RuntimeError):
    """dbt exited with an error; `output` holds its log lines (no row data: dbt logs SQL and
    counts, never query results)."""

    def __init__(self, returncode: int, output: str) -> None:
        super().__init__(f"dbt exited with status {returncode}")
        self.returncode = returncode
        self.output = output


@dataclass(frozen=True)
class DbtRun:
    returncode: int
    output: str
    target_dir: Path


def executable() -> str:
    """`emr-dbt` next to the running interpreter (the project's venv), else on PATH."""
    beside = Path(sys.executable).with_name(EXECUTABLE)
    if beside.exists():
        return str(beside)
    found = shutil.which(EXECUTABLE)
    if found is None:
        raise FileNotFoundError(f"{EXECUTABLE} is not installed (pip install -e .)")
    return found


def warehouse_environment(
    *, chdb_path: Path | None, server_url: str | None, lock_timeout: float
) -> dict[str, str]:
    """Variables `profiles.yml` reads: the chDB target and its data folder when `server_url` is
    None, else the HTTP target from the URL (`http[s]://user:password@host:port`). The
    password goes in `DBT_ENV_SECRET_*`, which dbt scrubs from its logs."""
    env = {"EMR_WAREHOUSE_LOCK_TIMEOUT_SECONDS": str(lock_timeout)}
    if server_url is None:
        if chdb_path is None:
            raise ValueError("embedded mode needs the chDB data folder")
        env["EMR_DBT_TARGET"] = "chdb"
        env["EMR_CHDB_PATH"] = str(chdb_path)
        return env
    url = urlsplit(server_url)
    secure = url.scheme == "https"
    env["EMR_DBT_TARGET"] = "http"
    env["EMR_CLICKHOUSE_HOST"] = url.hostname or "localhost"
    env["EMR_CLICKHOUSE_PORT"] = str(url.port or (8443 if secure else 8123))
    env["EMR_CLICKHOUSE_USER"] = unquote(url.username or "default")
    env["DBT_ENV_SECRET_CLICKHOUSE_PASSWORD"] = unquote(url.password or "")
    env["EMR_CLICKHOUSE_SECURE"] = "True" if secure else "False"
    return env


def dbt_environment(settings: Settings, *, target_dir: Path | None = None) -> dict[str, str]:
    """Everything a dbt subprocess needs for the warehouse `settings` name: the embedded chDB
    folder under `state_dir`, or the server of `warehouse_url`."""
    env: dict[str, str] = {
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "DBT_PROJECT_DIR": str(PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
    }
    if target_dir is not None:
        env["DBT_TARGET_PATH"] = str(target_dir)
        env["DBT_LOG_PATH"] = str(target_dir / "logs")
    env.update(
        warehouse_environment(
            chdb_path=settings.state_dir / "chdb",
            server_url=(
                settings.warehouse_url.get_secret_value() if settings.warehouse_url else None
            ),
            lock_timeout=settings.warehouse_lock_timeout_seconds,
        )
    )
    return env


def dbt_arguments(command: Sequence[str], *, as_of: date | None = None) -> list[str]:
    """`command` plus the measurement date, if given. (Against chDB the profile's target runs
    one thread: one engine per process, serialized by the warehouse lock.)"""
    args = list(command)
    if as_of is not None:
        args += ["--vars", json.dumps({"as_of_date": as_of.isoformat()})]
    return args


def run_dbt(
    command: Sequence[str],
    *,
    settings: Settings,
    as_of: date | None = None,
    target_dir: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
    check: bool = True,
) -> DbtRun:
    """Run `emr-dbt COMMAND...` (e.g. `["build"]`) to completion and return its output.

    `target_dir` keeps compiled artefacts and logs apart, so runs of different warehouses (tests,
    benchmarks) do not share `dbt_project/target`.
    """
    env = {**os.environ, **dbt_environment(settings, target_dir=target_dir)}
    if extra_env:
        env.update(extra_env)
    completed = subprocess.run(  # noqa: S603 - our own executable, arguments from code
        [executable(), *dbt_arguments(command, as_of=as_of)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = completed.stdout + completed.stderr
    if check and completed.returncode != 0:
        raise DbtFailed(completed.returncode, output)
    return DbtRun(
        returncode=completed.returncode,
        output=output,
        target_dir=target_dir or PROJECT_DIR / "target",
    )
