"""Dashboard page load time: p50/p95 per page over an existing published snapshot.

    .venv/bin/python -m tests.benchmarks.dashboards --state-dir .emr --tenant demo-clinic \
        [--email manager@...] [--password ...] [--repeats 20]

Each page is opened in Streamlit's AppTest (the whole script run: sign-in check, snapshot
reads, figures, charts) `repeats` times after one warm-up run; the first run of a page,
cold caches included, is reported separately. Prints one JSON line.
Needs a manager of the tenant: the demo's (`emr demo`, manager@demo.clinic) by default.
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from api.cli import DEMO_PASSWORD
from transactional.settings import get_settings

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
PAGES = (
    "views/revenue.py",
    "views/population_health.py",
    "views/cohorts.py",
    "views/operations.py",
    "views/data_quality.py",
    "views/models.py",
)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--email", default="manager@demo.clinic", help="a manager's e-mail")
    parser.add_argument("--password", default=DEMO_PASSWORD)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    os.environ["EMR_STATE_DIR"] = str(args.state_dir.resolve())
    get_settings.cache_clear()
    email = args.email
    app = AppTest.from_file(str(APP), default_timeout=300)
    app.run()
    app.text_input(key="login_tenant").input(args.tenant)
    app.text_input(key="login_email").input(email)
    app.text_input(key="login_password").input(args.password)
    app.button[0].click()
    app.run()
    if app.error or not app.title or app.title[0].value == "EMR dashboards":
        raise SystemExit(f"sign-in failed: {[e.value for e in app.error]}")
    pages: dict[str, dict[str, float]] = {}
    for page in PAGES:
        began = time.perf_counter()
        app.switch_page(page)
        app.run()
        first = (time.perf_counter() - began) * 1000
        if app.exception:
            raise SystemExit(f"{page}: {app.exception[0].message}")
        samples = []
        for _ in range(args.repeats):
            began = time.perf_counter()
            app.run()
            samples.append((time.perf_counter() - began) * 1000)
        pages[page.removeprefix("views/").removesuffix(".py")] = {
            "first_ms": round(first, 1),
            "p50_ms": round(statistics.median(samples), 1),
            "p95_ms": round(_percentile(samples, 0.95), 1),
            "charts": len(app.get("plotly_chart")),
        }
    print(
        json.dumps(
            {
                "benchmark": "dashboard_page_load",
                "tenant": args.tenant,
                "repeats": args.repeats,
                "cores": os.cpu_count(),
                "pages": pages,
            }
        )
    )


if __name__ == "__main__":
    main()
