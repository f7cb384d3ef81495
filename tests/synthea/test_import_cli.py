"""`emr import synthea DIR --tenant SLUG`, run as a user would: summary, failures, exit code."""

import csv
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

from tests.factories.synthea import SAMPLE, copy_sample, sample_rows
from transactional.database import Database
from transactional.settings import Settings


def _emr(database: Database, settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "EMR_DATABASE_URL": database.urls.owner.render_as_string(hide_password=False),
        "EMR_STATE_DIR": str(settings.state_dir),
    }
    env.pop("EMR_APP_DATABASE_URL", None)
    command = [str(Path(sys.executable).with_name("emr")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def _counts(stdout: str, file: str) -> tuple[int, ...]:
    match = re.search(rf"^{re.escape(file)}\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", stdout, re.M)
    assert match is not None, stdout
    return tuple(int(group) for group in match.groups())


def _drop_lines(folder: Path, file: str, lines: set[int]) -> None:
    path = folder / file
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    kept = [row for number, row in enumerate(rows, start=1) if number not in lines]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(kept)


def test_import_reports_failures_by_line_and_exits_1(
    database: Database, settings: Settings
) -> None:
    slug = f"synthea-{uuid.uuid4().hex[:8]}"

    result = _emr(database, settings, "import", "synthea", str(SAMPLE), "--tenant", slug)

    assert result.returncode == 1, result.stderr
    assert f"created tenant {slug}" in result.stdout
    patients = len(sample_rows("patients.csv"))
    assert _counts(result.stdout, "patients.csv") == (patients, patients, 0, 0, 0)
    assert re.search(
        r"^  medications\.csv:\d+: RxNorm \d+ is not in the medication", result.stdout, re.M
    )
    assert "Traceback" not in result.stderr


def test_a_clean_export_imports_with_exit_0_and_again_as_already_present(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = copy_sample(into=tmp_path)
    _drop_lines(
        folder,
        "medications.csv",
        {
            line
            for line, row in sample_rows("medications.csv")
            if row["CODE"] in ("1367439", "197378", "141918")
        },
    )
    _drop_lines(
        folder,
        "observations.csv",
        {line for line, row in sample_rows("observations.csv") if row["CODE"] == "57905-2"},
    )
    slug = f"synthea-{uuid.uuid4().hex[:8]}"

    first = _emr(database, settings, "import", "synthea", str(folder), "--tenant", slug)
    again = _emr(database, settings, "import", "synthea", str(folder), "--tenant", slug)

    assert first.returncode == 0, first.stdout + first.stderr
    assert "failed rows" not in first.stdout
    assert again.returncode == 0, again.stdout + again.stderr
    assert "created tenant" not in again.stdout
    encounters = len(sample_rows("encounters.csv"))
    assert _counts(first.stdout, "encounters.csv") == (encounters, encounters, 0, 0, 0)
    assert _counts(again.stdout, "encounters.csv") == (encounters, 0, encounters, 0, 0)
    claims = len(sample_rows("claims.csv"))
    assert _counts(again.stdout, "claims.csv") == (claims, 0, claims, 0, 0)


def test_a_folder_without_a_synthea_export_is_refused(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    missing = _emr(database, settings, "import", "synthea", "/no/such/folder", "--tenant", "x-y")
    empty = _emr(database, settings, "import", "synthea", str(tmp_path), "--tenant", "x-y")

    assert (missing.returncode, empty.returncode) == (2, 2)
    assert "holds no Synthea CSV file" in empty.stderr
    assert "Traceback" not in missing.stderr + empty.stderr
