"""`emr demo`, what `make demo` runs, end to end on its embedded engines in a folder of its own:
the first run generates a clinic and builds the warehouse, then serves the API, Dagster (daemon
with sensors, and UI) and the dashboards, and prints where they are; a write through the API
reaches the warehouse through the replication sensor; every dashboard page renders in headless
Chromium with its title and a chart; SIGTERM (what Ctrl-C does) stops every process, the
embedded PostgreSQL included; a second run reuses the data."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.cli import DEMO_PASSWORD, DEMO_TENANT
from dashboards.pages import PAGES
from tests.processes import free_port, wait_for
from transactional.embedded import process_alive
from warehouse.client import Warehouse

PATIENTS = 400
FIRST_RUN_SECONDS = 420.0


@dataclass
class Demo:
    state: Path
    ports: dict[str, int]
    environment: dict[str, str]
    process: subprocess.Popen[str] | None = None
    output: Path | None = None

    def start(self, label: str) -> None:
        self.output = self.state.parent / f"demo-{label}.out"
        emr = str(Path(sys.executable).with_name("emr"))
        command = [emr, "demo", "--patients", str(PATIENTS)]
        command += ["--api-port", str(self.ports["api"])]
        command += ["--dashboard-port", str(self.ports["dashboards"])]
        command += ["--dagster-port", str(self.ports["dagster"])]
        with self.output.open("w") as sink:
            self.process = subprocess.Popen(
                command, env=self.environment, stdout=sink, stderr=subprocess.STDOUT, text=True
            )

    def text(self) -> str:
        return self.output.read_text() if self.output else ""

    def wait_until_up(self, seconds: float) -> str:
        process = self.process
        assert process is not None
        wait_for(
            lambda: "Stop everything with Ctrl-C." in self.text() or process.poll() is not None,
            seconds=seconds,
            what="the demo to come up",
        )
        assert process.poll() is None, self.text()[-3000:]
        return self.text()

    def group_ids(self) -> list[int]:
        """Every process of the demo's tree now, by scanning /proc for its descendants."""
        assert self.process is not None
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry.name)] = int(fields[1])
        tree, frontier = set(), {self.process.pid}
        while frontier:
            tree |= frontier
            frontier = {pid for pid, parent in parents.items() if parent in frontier} - tree
        return sorted(tree)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=90)


def _get(
    url: str,
    *,
    data: bytes | None = None,
    token: str | None = None,
    kind: str = "application/json",
) -> Any:
    request = urllib.request.Request(url, data=data)  # noqa: S310 - local
    if data is not None:
        request.add_header("Content-Type", kind)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local
        return json.loads(response.read())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    state = tmp_path_factory.mktemp("demo") / "state"
    environment = {
        key: value
        for key, value in os.environ.items()
        # The demo runs on its embedded engines, whatever the suite's own settings point at.
        if key not in ("EMR_DATABASE_URL", "EMR_APP_DATABASE_URL", "EMR_WAREHOUSE_URL")
    } | {"EMR_STATE_DIR": str(state)}
    ports = {"api": free_port(), "dashboards": free_port(), "dagster": free_port()}
    running = Demo(state=state, ports=ports, environment=environment)
    running.start("first")
    try:
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            # Stop it as a user would, and leave no service behind if even that fails.
            tree = running.group_ids()
            try:
                running.stop()
            finally:
                for pid in tree:
                    if process_alive(pid):
                        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def first_banner(demo: Demo) -> str:
    return demo.wait_until_up(FIRST_RUN_SECONDS)


def _sign_in(demo: Demo, role: str) -> str:
    form = {"tenant": DEMO_TENANT, "username": f"{role}@demo.clinic", "password": DEMO_PASSWORD}
    tokens = _get(
        f"http://127.0.0.1:{demo.ports['api']}/api/v1/auth/token",
        data=urllib.parse.urlencode(form).encode(),
        kind="application/x-www-form-urlencoded",
    )
    return str(tokens["access_token"])


def test_the_first_run_builds_the_clinic_and_prints_where_everything_is(
    demo: Demo, first_banner: str
) -> None:
    assert f"Generating {PATIENTS:,d} patients" in first_banner
    for name, path in (("api", "/docs"), ("dashboards", "/"), ("pipeline", "/")):
        port = demo.ports["dagster" if name == "pipeline" else name]
        assert re.search(rf"^{name}\s+http://127\.0\.0\.1:{port}{path}$", first_banner, re.M)
    assert f"with password {DEMO_PASSWORD}" in first_banner and DEMO_TENANT in first_banner
    api = f"http://127.0.0.1:{demo.ports['api']}"
    assert _get(f"{api}/readyz")["status"] == "ready"
    token = _sign_in(demo, "receptionist")
    found = _get(f"{api}/api/v1/patients?limit=5", token=token)
    assert len(found["items"]) == 5
    assert (demo.state / "published" / "CURRENT").exists()
    models = {path.name for path in (demo.state / "models").iterdir() if path.is_dir()}
    assert {"readmission_30d", "incident_t2d_1y"} <= models


def test_a_write_through_the_api_reaches_the_warehouse_through_the_sensor(
    demo: Demo, first_banner: str
) -> None:
    api = f"http://127.0.0.1:{demo.ports['api']}"
    token = _sign_in(demo, "receptionist")
    body = {"family_name": "Sensorova", "given_name": "Ada", "birth_date": "1970-01-02"}
    body |= {"sex": "female"}
    created = _get(f"{api}/api/v1/patients", data=json.dumps(body).encode(), token=token)
    warehouse = Warehouse(url=None, data_dir=demo.state / "chdb", lock_timeout=120)

    def replicated() -> bool:
        with warehouse.connect() as client:
            return bool(
                client.query(
                    "SELECT count() FROM raw.patients FINAL WHERE id = {p:UUID}",
                    parameters={"p": created["id"]},
                ).result_rows[0][0]
            )

    wait_for(replicated, seconds=120, what="the replication sensor's run")


@pytest.mark.skipif(
    not (shutil.which("chromium") and shutil.which("chromedriver")),
    reason="headless Chromium not installed (Debian: apt-get install chromium chromium-driver)",
)
def test_every_dashboard_page_renders_in_chromium_with_its_title_and_a_chart(
    demo: Demo, first_banner: str, tmp_path: Path
) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = str(shutil.which("chromium"))
    for argument in ("--headless", "--no-sandbox", "--disable-gpu"):
        options.add_argument(argument)
    options.add_argument("--disable-background-networking")
    options.add_argument("--window-size=1400,1000")
    driver = webdriver.Chrome(service=Service(str(shutil.which("chromedriver"))), options=options)
    wait = WebDriverWait(driver, 60)
    try:
        driver.get(f"http://127.0.0.1:{demo.ports['dashboards']}/")
        field = (By.CSS_SELECTOR, "input[aria-label='Clinic']")
        wait.until(expected_conditions.presence_of_element_located(field)).send_keys(DEMO_TENANT)
        driver.find_element(By.CSS_SELECTOR, "input[aria-label='E-mail']").send_keys(
            "manager@demo.clinic"
        )
        driver.find_element(By.CSS_SELECTOR, "input[aria-label='Password']").send_keys(
            DEMO_PASSWORD
        )
        driver.find_element(By.XPATH, "//button[.//p[text()='Sign in']]").click()
        navigation = (By.CSS_SELECTOR, "[data-testid='stSidebarNav'] a")
        wait.until(expected_conditions.presence_of_element_located(navigation))
        for _, title, _ in PAGES:
            link = next(
                a for a in driver.find_elements(*navigation) if a.text.splitlines()[-1] == title
            )
            link.click()
            wait.until(
                expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "h1"), title)
            )

            def settled(browser: Any) -> bool:
                # Streamlit shows its status widget while the page's script runs.
                running = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stStatusWidget']")
                charts = browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")
                return not running and bool(charts)

            wait.until(settled)
            errors = driver.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")
            assert not errors, f"{title}: {errors[0].text}"
            # app.py turns a failing page into this message (details to the server log).
            assert "could not be shown" not in driver.page_source, title
            shot = tmp_path / f"{title.lower().replace(' ', '_')}.png"
            assert driver.save_screenshot(str(shot))
            assert shot.stat().st_size > 20_000, f"{title}: a blank screenshot"
    finally:
        driver.quit()


def test_sigterm_stops_every_process_and_a_second_run_reuses_the_data(
    demo: Demo, first_banner: str
) -> None:
    processes = demo.group_ids()
    assert len(processes) >= 6  # demo, API, Dagster (dev, webserver, daemon...), dashboards
    postmaster = demo.state / "pgdata" / "postmaster.pid"
    assert postmaster.exists()
    assert demo.stop() == 0
    wait_for(
        lambda: not any(process_alive(pid) for pid in processes),
        seconds=30,
        what="every process to end",
    )
    wait_for(lambda: not postmaster.exists(), seconds=30, what="the embedded PostgreSQL to stop")
    assert "Stopped." in demo.text()

    demo.start("second")
    banner = demo.wait_until_up(240)
    assert "Reusing the demo data" in banner and "Generating" not in banner
    assert f"http://127.0.0.1:{demo.ports['dashboards']}/" in banner
    assert demo.stop() == 0
