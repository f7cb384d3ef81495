"""Time from the README's run command to a usable dashboard, on a fresh clone. Not a test: run
it by hand.

    .venv/bin/python -m tests.benchmarks.demo_start [--cold-cache] [--keep]

Clones this repository (its committed HEAD) into a temporary folder and runs `make demo` there
with free ports, as a newcomer would after `git clone`: the virtualenv is created from the lock
file (with `--cold-cache`, through an empty uv cache, so every wheel is downloaded), the clinic
generated, the warehouse built, the services started. The clock stops when the demo prints its
addresses (every service answered and the dashboards' snapshot is published) and the dashboards
sign the demo manager in and render the Revenue page with data (Streamlit's AppTest against the
clone's state). Then Ctrl-C (SIGINT to make's process group) stops the demo, and the shutdown
is timed too. Prints one JSON line with each phase's end, in seconds from the command's start.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
MILESTONES = {
    "environment_ready": "Generating ",
    "population_loaded": "  loaded in ",
    "warehouse_built": "  built in ",
    "services_up": "Stop everything with Ctrl-C.",
}


def _usable(clone: Path, state: Path) -> bool:
    """The demo manager signs in and the Revenue page shows its figures, no exception."""
    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "from api.cli import DEMO_PASSWORD, DEMO_TENANT\n"
        "app = AppTest.from_file('dashboards/app.py', default_timeout=120).run()\n"
        "app.text_input(key='login_tenant').input(DEMO_TENANT)\n"
        "app.text_input(key='login_email').input('manager@demo.clinic')\n"
        "app.text_input(key='login_password').input(DEMO_PASSWORD)\n"
        "app.button[0].click().run()\n"
        "ok = not app.exception and any(m.label == 'A/R' for m in app.metric)\n"
        "sys.exit(0 if ok else 1)\n"
    )
    environment = os.environ | {"EMR_STATE_DIR": str(state)}
    python = clone / ".venv" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-c", script], cwd=clone, env=environment, capture_output=True, timeout=300
    )
    return done.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cold-cache", action="store_true", help="download every wheel")
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="emr-demo-start-"))
    clone = work / "emr"
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("EMR_") and key != "VIRTUAL_ENV"
    }
    if args.cold_cache:
        environment["UV_CACHE_DIR"] = str(work / "uv-cache")
        environment["PIP_NO_CACHE_DIR"] = "1"
    ports = {name: free_port() for name in ("api", "dashboard", "dagster")}
    figures: dict[str, Any] = {"cores": os.cpu_count(), "cold_cache": args.cold_cache}
    began = time.perf_counter()
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    figures["cloned"] = round(time.perf_counter() - began, 1)
    command = ["make", "demo"]
    log = work / "demo.out"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [
                *command,
                f"DEMO_ARGS=--api-port {ports['api']} --dashboard-port {ports['dashboard']} "
                f"--dagster-port {ports['dagster']}",
            ],
            cwd=clone,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        pending = dict(MILESTONES)
        while pending:
            if process.poll() is not None:
                raise SystemExit(f"make demo exited ({process.returncode}); see {log}")
            text = log.read_text(errors="replace")
            for name, marker in list(pending.items()):
                if marker in text:
                    figures[name] = round(time.perf_counter() - began, 1)
                    del pending[name]
            time.sleep(0.2)
        figures["dashboard_usable"] = (
            round(time.perf_counter() - began, 1) if _usable(clone, clone / ".emr") else None
        )
        stopping = time.perf_counter()
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C at the terminal sends
        process.wait(timeout=120)
        figures["stop_seconds"] = round(time.perf_counter() - stopping, 1)
        figures["load_average"] = [round(x, 1) for x in os.getloadavg()]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
