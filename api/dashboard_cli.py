"""`emr dashboard --port P`: the managers' Streamlit dashboards, alone.

Runs `streamlit run dashboards/app.py` headless in a child process with the settings' state
folder, so the dashboards read the snapshot the pipeline published there
(`emr pipeline run` makes one) and sign users in against the same database.
"""

import os
import signal
import subprocess
import sys
from typing import Annotated

import typer

from transactional.settings import PROJECT_ROOT, get_settings

APP = PROJECT_ROOT / "dashboards" / "app.py"


def dashboard_command(*, host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "true",
        "--client.showErrorDetails",
        "none",
        "--client.toolbarMode",
        "viewer",
        "--browser.gatherUsageStats",
        "false",
    ]


def dashboard(
    port: Annotated[int, typer.Option(help="Port to serve the dashboards on.")] = 8501,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the managers' dashboards (Streamlit) over the published snapshot."""
    settings = get_settings()
    environment = {**os.environ, "EMR_STATE_DIR": str(settings.state_dir.resolve())}
    typer.echo(f"dashboards: http://{host}:{port}/  (Ctrl-C stops them)")
    process = subprocess.Popen(dashboard_command(host=host, port=port), env=environment)  # noqa: S603
    # A service manager stops us with SIGTERM: pass it on rather than orphan Streamlit.
    signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    try:
        code = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        code = process.wait()
    raise typer.Exit(code=0 if code in (0, -15) else code)
