"""`emr pipeline ...`: replication and the warehouse build from the command line.

`run` is one catch-up pass through Dagster (replicate, build the marts, run the checks), recorded
in the local Dagster instance; `replicate` and `follow` are replication alone (`follow` keeps
the warehouse within about a second of PostgreSQL without launching a Dagster run per batch);
`status` shows the checkpoint and freshness; `dev` serves Dagster's UI and daemon.

Replication (Arrow, ADBC) and Dagster are imported by the commands that use them, so that every
other `emr` command starts without them.
"""

import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy import URL

from transactional.database import Database, resolve_urls
from transactional.schema import SchemaOutOfDate, assert_schema_current
from transactional.settings import Settings, get_settings
from warehouse.client import Warehouse, WarehouseBusy
from warehouse.runs import destination_id

if TYPE_CHECKING:
    from pipelines.replication import PassReport

pipeline_app = typer.Typer(help="Replicate into the warehouse and build the marts.")


def _checked_source() -> tuple[Settings, URL]:
    """Settings and the owner URL, once the database is known to be at the schema this code
    reads (replicating an older schema would miss tables and columns)."""
    settings = get_settings()
    database = Database.from_settings(settings)
    try:
        assert_schema_current(database.owner_engine)
    except SchemaOutOfDate as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2) from None
    finally:
        database.dispose()
    return settings, database.urls.owner


def _print(report: "PassReport") -> None:
    lag = "" if report.lag_seconds is None else f", oldest change {report.lag_seconds:.2f}s old"
    typer.echo(
        f"{report.kind}: {report.total_rows:,d} rows in {report.seconds:.2f}s "
        f"(watermark {report.since} -> {report.until}{lag})"
    )


@pipeline_app.command("run")
def run(
    train: Annotated[
        bool, typer.Option("--train", help="Train a new version of each risk model first.")
    ] = False,
) -> None:
    """One catch-up pass: replicate, build the marts, run the checks (a Dagster run in the local
    instance, so it shows in `emr pipeline dev`); with --train, new risk models first."""
    from pipelines.definitions import CATCH_UP_JOB, FIRST_BUILD_JOB, build_definitions
    from pipelines.instance import local_instance

    settings, _ = _checked_source()
    instance = local_instance(settings)
    job = build_definitions().resolve_job_def(FIRST_BUILD_JOB if train else CATCH_UP_JOB)
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    failed_checks = [c for c in result.get_asset_check_evaluations() if not c.passed]
    for check in failed_checks:
        typer.secho(
            f"check failed: {check.asset_key.to_user_string()} {check.check_name}",
            err=True,
            fg=typer.colors.YELLOW,
        )
    if not result.success:
        typer.secho(f"run {result.run_id} failed", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=1)
    typer.echo(f"run {result.run_id} succeeded; {len(failed_checks)} check(s) failed")


@pipeline_app.command("replicate")
def replicate_command(
    full: Annotated[bool, typer.Option("--full", help="Rebuild every raw table.")] = False,
) -> None:
    """One replication pass (a full resync the first time, or with --full)."""
    from pipelines.replication import full_resync, replicate

    settings, source = _checked_source()
    with Warehouse.from_settings(settings).connect() as client:
        report = (
            full_resync(source=source, client=client)
            if full
            else replicate(source=source, client=client)
        )
    _print(report)


@pipeline_app.command("follow")
def follow(
    interval: Annotated[float, typer.Option(min=0.05, help="Seconds between passes.")] = 1.0,
) -> None:
    """Replicate continuously until interrupted (Ctrl-C or SIGTERM), releasing the warehouse
    between passes."""
    from pipelines.replication import replicate

    # A service manager stops with SIGTERM: finish like Ctrl-C (a pass in flight is replayed
    # by the next one, so stopping anywhere loses nothing).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    settings, source = _checked_source()
    warehouse = Warehouse.from_settings(settings)
    typer.echo(f"following PostgreSQL every {interval:g}s; Ctrl-C stops", err=True)
    try:
        while True:
            began = time.monotonic()
            try:
                with warehouse.connect() as client:
                    report = replicate(source=source, client=client)
            except WarehouseBusy:
                continue
            if report.total_rows:
                _print(report)
            time.sleep(max(0.0, interval - (time.monotonic() - began)))
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)


@pipeline_app.command("status")
def status() -> None:
    """Where replication stands: checkpoint, last passes and their freshness."""
    from transactional.capture.checkpoints import load_checkpoint

    settings = get_settings()
    source = resolve_urls(settings).owner
    with Warehouse.from_settings(settings).connect() as client:
        destination = destination_id(client)
        recent = client.query(
            "SELECT count(), quantileExact(0.5)(lag_seconds), quantileExact(0.95)(lag_seconds), "
            "max(finished_at) FROM ops.replication_runs "
            "WHERE destination = {d:String} AND kind = 'incremental' "
            "AND finished_at > now() - INTERVAL 1 DAY",
            parameters={"d": destination},
        ).result_rows[0]
    checkpoint = load_checkpoint(source, destination=destination)
    typer.echo(f"warehouse {destination}: checkpoint {checkpoint}")
    passes, p50, p95, last = recent
    if passes:
        typer.echo(
            f"last 24 h: {passes} incremental passes, last at {last:%Y-%m-%d %H:%M:%S} UTC; "
            f"age of oldest change when applied p50 {p50:.2f}s, p95 {p95:.2f}s"
        )
    else:
        typer.echo("no incremental pass in the last 24 h")


@pipeline_app.command("dev")
def dev(
    port: Annotated[int, typer.Option(help="Dagster web UI port.")] = 3000,
) -> None:
    """Dagster's web UI and daemon (sensor included) on this code location."""
    from pipelines.instance import dagster_home

    env = os.environ | {"DAGSTER_HOME": str(dagster_home(get_settings()))}
    command = [
        os.path.join(os.path.dirname(sys.executable), "dagster"),
        "dev",
        "-m",
        "pipelines.definitions",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    raise typer.Exit(code=subprocess.call(command, env=env))  # noqa: S603 - fixed argv
