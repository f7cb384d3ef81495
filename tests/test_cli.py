"""The `emr` console script, run as a user would, against the test database."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import URL

from transactional.database import Database
from transactional.settings import Settings

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _emr(
    *args: str, database_url: URL, state_dir: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "EMR_DATABASE_URL": database_url.render_as_string(hide_password=False),
        "EMR_STATE_DIR": str(state_dir),
    }
    env.pop("EMR_APP_DATABASE_URL", None)
    command = [str(Path(sys.executable).with_name("emr")), *args]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, input=stdin, timeout=120
    )


@pytest.fixture
def run(database: Database, settings: Settings):  # type: ignore[no-untyped-def]
    def runner(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return _emr(
            *args, database_url=database.urls.owner, state_dir=settings.state_dir, stdin=stdin
        )

    return runner


def test_tenant_and_user_creation_then_sign_in(run, client, database: Database) -> None:  # type: ignore[no-untyped-def]
    created = run("tenant", "create", "Riverside Family Practice")
    assert created.returncode == 0, created.stderr
    match = re.fullmatch(
        rf"slug=(riverside-family-practice(?:-\S+)?) id=({UUID})\n", created.stdout
    )
    if match is None:
        pytest.fail(created.stdout)
    slug = match.group(1)
    again = run("tenant", "create", "Riverside Family Practice")
    assert again.returncode == 1 and "already exists" in again.stderr

    user = run(
        "user",
        "create",
        "--tenant",
        slug,
        "--email",
        "Dr.Who@Riverside.org",
        "--role",
        "physician",
        "--password",
        "a-long-password-1",
    )
    assert user.returncode == 0, user.stderr
    assert re.search(rf"id={UUID}", user.stdout)
    token = client.post(
        "/api/v1/auth/token",
        data={"username": "dr.who@riverside.org", "password": "a-long-password-1", "tenant": slug},
    )
    assert token.status_code == 200


def test_user_creation_errors_are_clear(run) -> None:  # type: ignore[no-untyped-def]
    unknown_role = run(
        "user",
        "create",
        "--tenant",
        "x",
        "--email",
        "a@b.org",
        "--role",
        "surgeon",
        "--password",
        "a-long-password-1",
    )
    assert unknown_role.returncode == 1 and "unknown role 'surgeon'" in unknown_role.stderr
    unknown_tenant = run(
        "user",
        "create",
        "--tenant",
        "no-such-clinic",
        "--email",
        "a@b.org",
        "--role",
        "nurse",
        "--password",
        "a-long-password-1",
    )
    assert unknown_tenant.returncode == 1 and "no tenant" in unknown_tenant.stderr
    assert "Traceback" not in unknown_role.stderr + unknown_tenant.stderr


def test_password_can_be_typed_at_a_prompt(run) -> None:  # type: ignore[no-untyped-def]
    tenant = run("tenant", "create", "Prompted Clinic", "--slug", "prompted-clinic-cli")
    assert tenant.returncode == 0, tenant.stderr
    created = run(
        "user",
        "create",
        "--tenant",
        "prompted-clinic-cli",
        "--email",
        "p@example.org",
        "--role",
        "nurse",
        stdin="a-long-password-1\na-long-password-1\n",
    )
    assert created.returncode == 0, created.stderr
    assert "a-long-password-1" not in created.stdout


def test_serve_refuses_a_schema_behind_head_and_names_the_fix(
    scratch_database: URL, tmp_path: Path
) -> None:
    result = _emr("serve", "--port", "0", database_url=scratch_database, state_dir=tmp_path)
    assert result.returncode == 1
    assert "Run `emr db upgrade`" in result.stderr
    upgraded = _emr("db", "upgrade", database_url=scratch_database, state_dir=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    current = _emr("db", "current", database_url=scratch_database, state_dir=tmp_path)
    lines = dict(line.split(":", 1) for line in current.stdout.strip().splitlines())
    assert lines["current"].strip() == lines["head"].strip() != "none"
