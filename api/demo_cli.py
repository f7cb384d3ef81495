"""`emr demo` (`make demo`): the whole product on its embedded engines, with a generated clinic.

The first run migrates the embedded PostgreSQL, creates the `demo-clinic` tenant with one user
per staff role, generates its population (five years of care and billing), and runs the
pipeline once with the risk models trained (`first_build`: replicate, dbt build, cohorts,
checks, scores, the dashboards' snapshot). Every run then starts, each in a session of its own:

- the API (`emr serve`),
- Dagster's daemon and web UI (`emr pipeline dev`): the replication sensor replicates every
  committed write within seconds, the marts sensor rebuilds the marts every few minutes,
- the dashboards (`emr dashboard`),

waits until each answers, and prints their addresses and the demo credentials. This process
keeps the embedded PostgreSQL up for them. Ctrl-C (or SIGTERM) stops every one of them, their
children included; a later run reuses the data (a first run stopped part-way resumes where
it stopped). Each service's output goes to `<state_dir>/logs/<name>.log`.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import typer
from sqlalchemy import func, select

from transactional.database import Database
from transactional.patients.models import Patient
from transactional.settings import Settings
from transactional.tenancy import bind_tenant

READY_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 30.0
MARKER = "demo.json"


@dataclass
class Service:
    """One process of the demo: what it runs, where it answers, and its log."""

    name: str
    argv: list[str]
    url: str
    probe: str
    log: Path
    process: subprocess.Popen[bytes] | None = None
    _output: IO[bytes] | None = field(default=None, repr=False)

    def start(self, environment: dict[str, str]) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._output = self.log.open("ab")
        self._output.write(f"\n--- emr demo started {self.name} at {time.ctime()} ---\n".encode())
        self._output.flush()
        # A session of its own: a Ctrl-C at the terminal reaches only `emr demo`, which then
        # stops the services in order, each with its whole process group.
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            self.argv,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.probe, timeout=2) as response:  # noqa: S310 - local
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def signal_group(self, signum: int) -> None:
        """Signal the service's whole process group, which outlives its leader when the leader
        exits before its children (Dagster's code servers)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def close(self) -> None:
        if self._output is not None:
            self._output.close()

    def tail(self) -> str:
        return tail(self.log)


def tail(log: Path, lines: int = 20) -> str:
    """The last lines of a log, for a message saying why something stopped."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def services(settings: Settings, *, host: str, ports: dict[str, int]) -> list[Service]:
    emr = str(Path(sys.executable).with_name("emr"))
    logs = settings.state_dir / "logs"
    api, dagster, dashboards = ports["api"], ports["dagster"], ports["dashboards"]
    return [
        Service(
            name="api",
            argv=[emr, "serve", "--host", host, "--port", str(api)],
            url=f"http://{host}:{api}/docs",
            probe=f"http://{host}:{api}/readyz",
            log=logs / "api.log",
        ),
        Service(
            name="pipeline",
            # Dagster's UI listens on 127.0.0.1 only: it runs jobs for whoever reaches it.
            argv=[emr, "pipeline", "dev", "--port", str(dagster)],
            url=f"http://127.0.0.1:{dagster}/",
            probe=f"http://127.0.0.1:{dagster}/server_info",
            log=logs / "pipeline.log",
        ),
        Service(
            name="dashboards",
            argv=[emr, "dashboard", "--host", host, "--port", str(dashboards)],
            url=f"http://{host}:{dashboards}/",
            probe=f"http://{host}:{dashboards}/_stcore/health",
            log=logs / "dashboards.log",
        ),
    ]


def patient_count(database: Database, tenant_id: uuid.UUID) -> int:
    with database.transaction() as session:
        bind_tenant(session, tenant_id)
        return int(session.scalar(select(func.count()).select_from(Patient)) or 0)


def step(argv: list[str], *, log: Path, environment: dict[str, str]) -> None:
    """Run one set-up command, its output to `log`; stop the demo with the log's tail if it
    fails, and stop the command with the demo on Ctrl-C."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        output.write(f"\n--- emr demo: {' '.join(argv[1:])} at {time.ctime()} ---\n".encode())
        output.flush()
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            argv, env=environment, stdin=subprocess.DEVNULL, stdout=output, stderr=output
        )
        try:
            code = process.wait()
        except KeyboardInterrupt:
            process.terminate()
            process.wait()
            raise
    if code != 0:
        typer.secho(
            f"error: `emr {' '.join(argv[1:3])}` failed ({code}). Last lines of {log}:\n"
            f"{tail(log)}",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(code=1)


def prepare_data(
    settings: Settings,
    database: Database,
    *,
    tenant_id: uuid.UUID,
    slug: str,
    patients: int,
    seed: int,
) -> None:
    """Generate the population and build the warehouse once (each in a child process, so this
    one stays small while it supervises); a marker records that both are done, so later runs
    start at once and a first run stopped part-way resumes."""
    marker = settings.state_dir / MARKER
    if marker.exists():
        typer.echo(f"Reusing the demo data in {settings.state_dir} ({marker.name}).")
        return
    emr = str(Path(sys.executable).with_name("emr"))
    environment = os.environ | {"EMR_STATE_DIR": str(settings.state_dir.resolve())}
    log = settings.state_dir / "logs" / "setup.log"
    held = patient_count(database, tenant_id)
    if held == 0:
        typer.echo(f"Generating {patients:,d} patients with five years of care (seed {seed})...")
        began = time.perf_counter()
        command = ["seed", "--tenant", slug, "--patients", str(patients), "--seed", str(seed)]
        step([emr, *command], log=log, environment=environment)
        typer.echo(f"  loaded in {time.perf_counter() - began:.0f} s")
        held = patients
    typer.echo(
        "Building the warehouse: replication, dbt marts, cohorts, checks, risk models, "
        "scores, the dashboards' snapshot..."
    )
    began = time.perf_counter()
    step([emr, "pipeline", "run", "--train"], log=log, environment=environment)
    typer.echo(f"  built in {time.perf_counter() - began:.0f} s")
    marker.write_text(json.dumps({"tenant": slug, "patients": held, "built": time.time()}))


def wait_ready(started: list[Service]) -> Service | None:
    """Wait until every service answers; the first one that exited instead, if any."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    waiting = list(started)
    while waiting:
        for service in list(waiting):
            if service.exited() is not None:
                return service
            if service.ready():
                typer.echo(f"  {service.name} is up")
                waiting.remove(service)
        if time.monotonic() > deadline:
            return waiting[0]
        time.sleep(0.5)
    return None


def stop(started: list[Service]) -> None:
    """SIGTERM to each service's process group, the API last (the others read through it
    or beside it); SIGKILL to whatever is still there after the grace period."""
    for service in reversed(started):
        service.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for service in reversed(started):
        if service.process is None:
            continue
        try:
            service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            typer.echo(f"  {service.name} did not stop in time; killing it", err=True)
        service.signal_group(signal.SIGKILL)  # stragglers of its group, if any
        if service.process.poll() is None:
            service.process.wait()
        service.close()
    # Killed stragglers linger a moment until reaped; the embedded PostgreSQL stops only once
    # this process is the last one using it.
    groups = {s.process.pid for s in started if s.process is not None}
    deadline = time.monotonic() + 10
    while group_members(groups) and time.monotonic() < deadline:
        time.sleep(0.1)


def group_members(groups: set[int]) -> list[int]:
    """Live (not zombie) processes of these process groups, from /proc."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) in groups:
            members.append(int(entry.name))
    return members


def supervise(started: list[Service]) -> int:
    """Until Ctrl-C or SIGTERM (0), or until a service exits on its own (1)."""
    while True:
        for service in started:
            code = service.exited()
            if code is not None:
                typer.secho(
                    f"{service.name} exited ({code}); stopping the demo. "
                    f"Last lines of {service.log}:\n{service.tail()}",
                    err=True,
                    fg=typer.colors.RED,
                )
                return 1
        time.sleep(1.0)


def run_demo(
    settings: Settings,
    *,
    host: str,
    ports: dict[str, int],
    banner: str,
    prepare: Callable[[], None],
) -> None:
    busy = [f"{name} port {port}" for name, port in ports.items() if not port_free(host, port)]
    if busy:
        typer.secho(
            f"error: in use: {', '.join(busy)}; stop what holds it or pick another "
            "(--api-port, --dagster-port, --dashboard-port)",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(code=2)
    # Ctrl-C and a service manager's SIGTERM both stop everything in order. (A shell starts
    # background jobs with SIGINT ignored; Ctrl-C must still work in the foreground.)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    prepare()
    environment = os.environ | {"EMR_STATE_DIR": str(settings.state_dir.resolve())}
    started: list[Service] = []
    code = 0
    try:
        typer.echo("Starting the API, the pipeline (Dagster daemon and UI) and the dashboards...")
        for service in services(settings, host=host, ports=ports):
            service.start(environment)
            started.append(service)
        failed = wait_ready(started)
        if failed is not None:
            typer.secho(
                f"{failed.name} did not come up. Last lines of {failed.log}:\n{failed.tail()}",
                err=True,
                fg=typer.colors.RED,
            )
            code = 1
        else:
            addresses = "\n".join(f"{s.name:14s} {s.url}" for s in started)
            typer.echo(f"\n{addresses}\n{banner}Logs in {settings.state_dir / 'logs'}\n")
            typer.echo("Stop everything with Ctrl-C.")
            code = supervise(started)
    except KeyboardInterrupt:
        typer.echo("\nStopping...", err=True)
    finally:
        stop(started)
    typer.echo("Stopped.", err=True)
    raise typer.Exit(code=code)
