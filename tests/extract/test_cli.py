"""`emr extract --tenant SLUG --out FILE.duckdb [--cohort NAME] [--identified]`: permission,
audit, and clean refusals that leave nothing behind."""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from api.cli import app
from tests.cohorts.population import World
from tests.factories.identity import make_user
from transactional.audit.models import AuditEvent
from transactional.identity.roles import Role
from transactional.settings import get_settings
from transactional.tenancy import bind_tenant
from warehouse.extracts.access import DEIDENTIFIED, IDENTIFIED
from warehouse.extracts.writer import parquet_folder

Run = Callable[..., Result]


@pytest.fixture
def emr(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """The `emr` command in this process, configured like a shell user's would be."""
    monkeypatch.setenv(
        "EMR_DATABASE_URL", world.database.urls.owner.render_as_string(hide_password=False)
    )
    monkeypatch.setenv("EMR_STATE_DIR", str(world.settings.state_dir))
    monkeypatch.delenv("EMR_APP_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, ["extract", "--tenant", world.population.tenant.slug, *args])

    yield run
    get_settings.cache_clear()


def _events(world: World, action: str) -> list[AuditEvent]:
    with world.database.transaction() as session:
        bind_tenant(session, world.population.tenant.id)
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.tenant_id == world.population.tenant.id)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.occurred_at)
            )
        )


def _nothing_written(folder: Path) -> bool:
    return list(folder.iterdir()) == []


def test_an_identified_extract_needs_the_permission_and_is_audited(
    emr: Run, world: World, tmp_path: Path
) -> None:
    physician = make_user(
        database=world.database, tenant=world.population.tenant, role=Role.PHYSICIAN
    )
    out = tmp_path / "identified.duckdb"

    result = emr("--out", str(out), "--identified", "--user", physician.email)

    assert result.exit_code == 0, result.output
    connection = duckdb.connect(str(out), read_only=True)
    try:
        mrns = {row[0] for row in connection.execute("SELECT mrn FROM patients").fetchall()}
    finally:
        connection.close()
    assert {p.mrn for p in world.population.people if not p.spec.deleted} == mrns
    event = _events(world, IDENTIFIED)[-1]
    assert (event.outcome, event.actor_user_id, event.actor_role) == (
        "success",
        physician.id,
        "physician",
    )
    assert event.detail["patients"] == len(mrns)
    assert event.resource_id is not None and event.resource_id in result.output


def test_an_identified_extract_is_refused_without_the_permission(
    emr: Run, world: World, tmp_path: Path
) -> None:
    manager = make_user(database=world.database, tenant=world.population.tenant, role=Role.MANAGER)

    refused = emr("--out", str(tmp_path / "x.duckdb"), "--identified", "--user", manager.email)
    anonymous = emr("--out", str(tmp_path / "x.duckdb"), "--identified")

    assert refused.exit_code == 2 and "analytics.phi.read" in refused.output
    assert anonymous.exit_code == 2 and "--user" in anonymous.output
    denied = [e for e in _events(world, IDENTIFIED) if e.outcome == "denied"]
    assert manager.id in {e.actor_user_id for e in denied}
    assert _nothing_written(tmp_path)


def test_a_deidentified_cohort_extract_is_audited_as_such(
    emr: Run, world: World, tmp_path: Path
) -> None:
    out = tmp_path / "cohort.duckdb"

    result = emr("--out", str(out), "--cohort", "t2d_metformin_uncontrolled")

    assert result.exit_code == 0, result.output
    assert out.is_file() and (parquet_folder(out) / "cohort_membership.parquet").is_file()
    event = _events(world, DEIDENTIFIED)[-1]
    assert event.outcome == "success" and event.actor_user_id is None
    assert event.detail["cohort"] == "t2d_metformin_uncontrolled"
    assert event.detail["patients"] == 26
    connection = duckdb.connect(str(out), read_only=True)
    try:
        assert connection.execute("SELECT count(*) FROM patients").fetchone() == (26,)
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--cohort", "no_such_cohort"), "no cohort named 'no_such_cohort'"),
        (("--mart", "no_such_mart"), "no mart named 'no_such_mart'"),
        (("--dates", "month"), "--dates must be 'shift' or 'year'"),
    ],
)
def test_bad_input_is_refused_and_leaves_nothing_behind(
    emr: Run, tmp_path: Path, arguments: tuple[str, ...], message: str
) -> None:
    result = emr("--out", str(tmp_path / "x.duckdb"), *arguments)

    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert _nothing_written(tmp_path)


def test_an_unknown_tenant_is_refused(world: World, emr: Run, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "extract",
            "--tenant",
            f"nobody-{uuid.uuid4().hex[:6]}",
            "--out",
            str(tmp_path / "x.duckdb"),
        ],
    )
    assert result.exit_code == 1 and "no tenant with slug" in result.output
    assert _nothing_written(tmp_path)


def test_an_existing_extract_is_kept_unless_forced(emr: Run, tmp_path: Path) -> None:
    out = tmp_path / "kept.duckdb"
    out.write_bytes(b"earlier work")

    refused = emr("--out", str(out))
    assert refused.exit_code == 1 and "already exists" in refused.output
    assert out.read_bytes() == b"earlier work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.duckdb"]

    replaced = emr("--out", str(out), "--force", "--dates", "year")
    assert replaced.exit_code == 0, replaced.output
    connection = duckdb.connect(str(out), read_only=True)
    try:
        assert connection.execute("SELECT count(*) FROM patients").fetchone() == (66,)
    finally:
        connection.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.duckdb", "kept_parquet"]
