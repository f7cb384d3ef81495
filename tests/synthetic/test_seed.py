"""Seeding into the database: whole, reproducible, audited, captured, refused twice."""

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import URL, Engine, text
from typer.testing import CliRunner

from transactional.database import Database, DatabaseUrls
from transactional.errors import Conflict
from transactional.schema import upgrade
from transactional.settings import Settings
from transactional.synthetic.checksums import table_checksums
from transactional.synthetic.seed import SeedResult, seed_population, tenant_for
from transactional.tenancy import bind_tenant

AS_OF = date(2026, 11, 22)


def _seed(database: Database, slug: str, *, patients: int = 250, seed: int = 21) -> SeedResult:
    return seed_population(database=database, slug=slug, patients=patients, seed=seed, as_of=AS_OF)


def _checksums(database: Database, slug: str, tables: list[str]) -> dict[str, tuple[int, str]]:
    tenant = tenant_for(database, slug)
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        found = table_checksums(session=session, tenant_id=tenant.id, tables=tables)
    return {name: (c.rows, c.md5) for name, c in found.items()}


def test_a_seeded_population_is_whole_and_consistent(
    database: Database, owner_engine: Engine
) -> None:
    slug = f"seed-{uuid.uuid4().hex[:6]}"
    result = _seed(database, slug)
    tenant = tenant_for(database, slug)
    counts = _checksums(database, slug, list(result.report.rows))
    assert {name: rows for name, (rows, _) in counts.items()} == result.report.rows
    assert result.report.rows["patients"] == 250
    with owner_engine.connect() as connection:
        # Every invoice balance is charges - payments - adjustments, recomputed here.
        mismatched: Any = connection.execute(
            text(
                """
                SELECT count(*) FROM invoices AS i
                WHERE i.tenant_id = :t AND i.balance_cents <> (
                    (SELECT coalesce(sum(amount_cents), 0) FROM charges
                      WHERE invoice_id = i.id AND status = 'active')
                  - (SELECT coalesce(sum(amount_cents), 0) FROM payments WHERE invoice_id = i.id)
                  - (SELECT coalesce(sum(amount_cents), 0) FROM adjustments
                      WHERE invoice_id = i.id AND kind <> 'patient_responsibility'))
                """
            ),
            {"t": tenant.id},
        ).scalar_one()
        assert mismatched == 0
        # Paid claims were paid in full by their remittance and adjustments.
        statuses: dict[str, int] = dict(
            connection.execute(
                text("SELECT status, count(*) FROM claims WHERE tenant_id = :t GROUP BY 1"),
                {"t": tenant.id},
            ).all()
        )
        assert statuses["paid"] > 0 and statuses["denied"] > 0
        # MRNs came from the tenant's own sequence, in order.
        mrns = connection.execute(
            text("SELECT min(mrn), max(mrn) FROM patients WHERE tenant_id = :t"), {"t": tenant.id}
        ).one()
        assert mrns == ("1000-0016", "1024-9990") or mrns[0] < mrns[1]


def test_the_same_seed_gives_the_same_checksums_in_another_database(
    database: Database, scratch_database: URL, settings: Settings
) -> None:
    slug = f"twin-{uuid.uuid4().hex[:6]}"
    result = _seed(database, slug, patients=150)
    tables = list(result.report.rows)
    twin = Database(
        DatabaseUrls(
            owner=scratch_database, app=scratch_database.set(username=settings.app_db_role)
        )
    )
    upgrade(twin, app_role=settings.app_db_role)
    try:
        _seed(twin, slug, patients=150)
        here, there = _checksums(database, slug, tables), _checksums(twin, slug, tables)
    finally:
        twin.dispose()
    # The first database also holds other tenants, so MRNs differ; everything else matches.
    differing = {name for name in tables if here[name] != there[name]}
    assert differing <= {"patients"}
    assert here["patients"][0] == there["patients"][0] == 150


def test_a_load_is_audited_per_batch_and_left_for_the_warehouse(
    database: Database, owner_engine: Engine
) -> None:
    slug = f"audit-{uuid.uuid4().hex[:6]}"
    result = _seed(database, slug, patients=120)
    tenant = tenant_for(database, slug)
    with owner_engine.connect() as connection:
        events = connection.execute(
            text(
                "SELECT resource_type, sum((detail->>'rows')::int) FROM audit_events "
                "WHERE tenant_id = :t AND action = 'bulk.load' GROUP BY 1"
            ),
            {"t": tenant.id},
        ).all()
        changes: dict[str, int] = dict(
            connection.execute(
                text(
                    "SELECT table_name, count(*) FROM change_log WHERE tenant_id = :t "
                    "AND op = 'I' GROUP BY 1"
                ),
                {"t": tenant.id},
            ).all()
        )
        ids_in_events: Any = connection.execute(
            text(
                "SELECT count(*) FROM audit_events WHERE tenant_id = :t "
                "AND action = 'bulk.load' AND patient_id IS NOT NULL"
            ),
            {"t": tenant.id},
        ).scalar_one()
    assert dict(events) == result.report.rows
    assert ids_in_events == 0  # counts only, no patient in a load's audit event
    for name, rows in result.report.rows.items():
        assert changes[name] == rows, name


def test_seeding_a_tenant_that_holds_records_is_refused(
    database: Database, owner_engine: Engine
) -> None:
    slug = f"twice-{uuid.uuid4().hex[:6]}"
    _seed(database, slug, patients=60, seed=5)
    tenant = tenant_for(database, slug)
    with owner_engine.connect() as connection:
        before: Any = connection.execute(
            text("SELECT count(*) FROM change_log WHERE tenant_id = :t"), {"t": tenant.id}
        ).scalar_one()
    for seed in (5, 6):
        with pytest.raises(Conflict, match="already holds records"):
            _seed(database, slug, patients=60, seed=seed)
    with owner_engine.connect() as connection:
        after: Any = connection.execute(
            text("SELECT count(*) FROM change_log WHERE tenant_id = :t"), {"t": tenant.id}
        ).scalar_one()
    assert after == before


def test_emr_seed_prints_what_it_loaded(
    database: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from api.cli import app
    from transactional.settings import get_settings

    monkeypatch.setenv(
        "EMR_DATABASE_URL", database.urls.owner.render_as_string(hide_password=False)
    )
    monkeypatch.setenv("EMR_STATE_DIR", str(settings.state_dir))
    get_settings.cache_clear()
    try:
        slug = f"cli-{uuid.uuid4().hex[:6]}"
        args = [
            "seed",
            "--tenant",
            slug,
            "--patients",
            "80",
            "--seed",
            "3",
            "--as-of",
            "2026-11-22",
        ]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert f"tenant {slug}: 80 patients" in result.stdout
        assert "readmission_30d" in result.stdout or "incident_t2d_1y" in result.stdout
        again = CliRunner().invoke(app, args)
        assert again.exit_code == 1 and "already holds records" in again.output
        bad = CliRunner().invoke(app, [*args[:-1], "22-11-2026"])
        assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
    finally:
        get_settings.cache_clear()
