"""The dbt project as Dagster assets: one `@dbt_assets` that streams `emr-dbt build`.

Nothing happens at import. `emr_dbt_assets()` builds the assets definition from the
project's manifest, running `emr-dbt parse` first when the manifest is missing (and on every
load under `dagster dev`, so edits show up); `dbt_resource(settings)` is the resource that runs
dbt as a subprocess against the warehouse those settings name. In embedded mode the dbt
subprocess holds the warehouse lock while it builds (warehouse/dbt_chdb.py), so replication
and the API wait for it rather than fail.
"""

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetsDefinition
from dagster_dbt import (
    DagsterDbtTranslator,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from dagster_dbt.dbt_manifest import DbtManifestParam
from dagster_dbt.dbt_project import using_dagster_dev
from filelock import FileLock

from transactional.settings import Settings, get_settings
from warehouse.dbt_runner import PROJECT_DIR, executable, run_dbt, warehouse_environment

ASSETS_NAME = "emr_dbt"
# Unit tests pin the KPI formulas on fixed inputs; they run in CI and `emr-dbt build`, not in
# every production build (a fixed ~20 s that does not depend on the data).
BUILD = ["build", "--exclude-resource-type", "unit_test"]


@contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    previous = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class WarehouseDbtResource(DbtCliResource):
    """`DbtCliResource` running `emr-dbt` with the warehouse connection in its environment.

    DbtCliResource hands its subprocess a copy of `os.environ` and takes no environment of
    its own, so `cli` sets the profile's variables for the duration of the call that starts
    the subprocess (Dagster runs each step in a process of its own). The chDB folder is
    plain config; a server's password is never config: server mode reads `warehouse_url`
    from the settings at run time.
    """

    chdb_path: str | None = None
    lock_timeout_seconds: float = 30.0

    def cli(
        self,
        args: Sequence[str],
        *,
        raise_on_error: bool = True,
        manifest: DbtManifestParam | None = None,
        dagster_dbt_translator: DagsterDbtTranslator | None = None,
        context: Any = None,
        target_path: Path | None = None,
    ) -> DbtCliInvocation:
        with _environment(self.environment()):
            return super().cli(
                args,
                raise_on_error=raise_on_error,
                manifest=manifest,
                dagster_dbt_translator=dagster_dbt_translator,
                context=context,
                target_path=target_path,
            )

    def environment(self) -> dict[str, str]:
        if self.chdb_path is not None:
            return warehouse_environment(
                chdb_path=Path(self.chdb_path),
                server_url=None,
                lock_timeout=self.lock_timeout_seconds,
            )
        url = get_settings().warehouse_url
        if url is None:
            raise ValueError("no chdb_path and no EMR_WAREHOUSE_URL: which warehouse?")
        return warehouse_environment(
            chdb_path=None,
            server_url=url.get_secret_value(),
            lock_timeout=self.lock_timeout_seconds,
        )


def dbt_project() -> DbtProject:
    return DbtProject(project_dir=PROJECT_DIR, target_path=Path("target"))


def parse(project: DbtProject) -> None:
    """Write the project's manifest with `emr-dbt parse` (dagster-dbt's own preparer runs a
    `dbt` from PATH, which a virtualenv need not put there)."""
    run_dbt(
        ["parse", "--quiet"],
        settings=get_settings(),
        target_dir=project.project_dir / project.target_path,
    )


def dbt_resource(settings: Settings) -> WarehouseDbtResource:
    """The dbt resource for the warehouse `settings` name (embedded chDB or a server)."""
    embedded = settings.warehouse_url is None
    return WarehouseDbtResource(
        project_dir=str(PROJECT_DIR),
        profiles_dir=str(PROJECT_DIR),
        dbt_executable=executable(),
        target="chdb" if embedded else "http",
        chdb_path=str(settings.state_dir / "chdb") if embedded else None,
        lock_timeout_seconds=settings.warehouse_lock_timeout_seconds,
    )


class EmrDbtTranslator(DagsterDbtTranslator):
    """Asset groups by layer and domain: dbt_staging, dbt_intermediate, revenue,
    population_health, quality (and cohorts, value_sets)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn: list[str] = list(dbt_resource_props.get("fqn", []))
        if dbt_resource_props.get("resource_type") == "seed":
            return "value_sets"
        if len(fqn) > 2 and fqn[1] == "marts":
            return fqn[2]
        if len(fqn) > 1 and fqn[1] in ("staging", "intermediate"):
            return f"dbt_{fqn[1]}"
        return super().get_group_name(dbt_resource_props)


def _manifest_is_stale(project: DbtProject) -> bool:
    """No manifest yet, or a model, test, seed, macro or project file changed after it."""
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = Path(project.project_dir)
    watched = ("models", "macros", "seeds", "tests", "snapshots")
    files = [sources / "dbt_project.yml"] + [
        f for folder in watched for f in (sources / folder).rglob("*") if f.is_file()
    ]
    return any(f.stat().st_mtime > built for f in files if f.exists())


def emr_dbt_assets(project: DbtProject | None = None) -> AssetsDefinition:
    """The `@dbt_assets` of the project: materializing them runs `emr-dbt build` (without
    unit tests) for the selection and streams its events (models, seeds, and their data tests
    as asset checks)."""
    project = project or dbt_project()
    target = Path(project.project_dir) / project.target_path
    target.mkdir(parents=True, exist_ok=True)
    # Two processes loading the code location at once (Dagster's webserver and daemon, a
    # run worker) must not write the manifest at the same time, nor read it half written.
    with FileLock(target / "parse.lock", thread_local=False):
        if using_dagster_dev() or _manifest_is_stale(project):
            parse(project)

        @dbt_assets(
            manifest=project.manifest_path,
            project=project,
            name=ASSETS_NAME,
            dagster_dbt_translator=EmrDbtTranslator(),
        )
        def _assets(context: AssetExecutionContext, dbt: WarehouseDbtResource) -> Iterator[Any]:
            yield from dbt.cli(BUILD, context=context).stream()

    return _assets
