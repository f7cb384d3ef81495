"""A second import changes nothing; bad rows are reported by file and line and leave
nothing behind; another tenant sees none of it."""

import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from tests.factories.identity import bearer, make_tenant, make_user
from tests.factories.synthea import (
    copy_sample,
    import_sample,
    rewrite_line,
    sample_rows,
    synthea_ids,
    tenant_counts,
    truncate_line,
)
from transactional.billing.models import Invoice
from transactional.charting.models import Condition, Encounter
from transactional.database import Database
from transactional.identity.roles import Role
from transactional.patients.models import Patient
from transactional.synthea.models import SourceKey
from transactional.tenancy import bind_tenant


def test_a_second_import_adds_and_changes_nothing(database: Database, owner_engine: Engine) -> None:
    tenant = make_tenant(database=database)
    first = import_sample(database=database, tenant=tenant)
    before = tenant_counts(database, owner_engine, tenant.id)

    second = import_sample(database=database, tenant=tenant)

    assert tenant_counts(database, owner_engine, tenant.id) == before
    for name, summary in second.files.items():
        assert summary.imported == 0, name
        assert summary.present == first.files[name].imported, name
    assert [str(f) for f in second.failures] == [str(f) for f in first.failures]


def _dependents(encounter_id: str) -> set[str]:
    """Every row that needs the encounter: charted on it, or billed for it."""
    found = {
        f"{file}:{line}"
        for file in (
            "conditions.csv",
            "allergies.csv",
            "procedures.csv",
            "immunizations.csv",
            "medications.csv",
            "observations.csv",
        )
        for line, row in sample_rows(file)
        if row["ENCOUNTER"] == encounter_id
        and not (file == "observations.csv" and row["TYPE"] == "text")
    }
    claims = {
        row["Id"]: line
        for line, row in sample_rows("claims.csv")
        if row["APPOINTMENTID"] == encounter_id
    }
    found |= {f"claims.csv:{line}" for line in claims.values()}
    found |= {
        f"claims_transactions.csv:{line}"
        for line, row in sample_rows("claims_transactions.csv")
        if row["CLAIMID"] in claims
    }
    return found


def test_bad_rows_are_reported_by_line_and_everything_else_imports(
    database: Database, tmp_path: Path
) -> None:
    folder = copy_sample(into=tmp_path)
    encounter_line = next(
        line
        for line, row in sample_rows("encounters.csv")
        if row["ENCOUNTERCLASS"] == "ambulatory" and len(_dependents(row["Id"])) < 12
    )
    orphan = rewrite_line(
        folder, "encounters.csv", encounter_line, column="PATIENT", value=str(uuid.uuid4())
    )
    dependents = _dependents(orphan["Id"])
    free = [
        line
        for line, row in sample_rows("conditions.csv")
        if f"conditions.csv:{line}" not in dependents
    ]
    bad_date = rewrite_line(folder, "conditions.csv", free[3], column="START", value="2019-02-30")
    vitals = [
        line
        for line, row in sample_rows("observations.csv")
        if row["CODE"] == "8867-4" and f"observations.csv:{line}" not in dependents
    ]
    rewrite_line(folder, "observations.csv", vitals[0], column="CODE", value="99999-9")
    rewrite_line(folder, "observations.csv", vitals[1], column="VALUE", value="7O.5")
    cut = next(
        line
        for line, _ in sample_rows("procedures.csv")
        if f"procedures.csv:{line}" not in dependents
    )
    truncate_line(folder, "procedures.csv", cut, keep=40)
    corrupted = {
        f"encounters.csv:{encounter_line}": "PATIENT names no row of patients.csv",
        f"conditions.csv:{free[3]}": "START is not an ISO 8601 date",
        f"observations.csv:{vitals[0]}": "unknown LOINC code '99999-9'",
        f"observations.csv:{vitals[1]}": "VALUE is not a number",
        f"procedures.csv:{cut}": "fields where the header has",
    }
    tenant = make_tenant(database=database)

    report = import_sample(database=database, tenant=tenant, folder=folder)

    reasons = {f"{f.file}:{f.line}": f.reason for f in report.failures}
    refused_anyway = {
        f"medications.csv:{line}"
        for line, row in sample_rows("medications.csv")
        if row["CODE"] in ("1367439", "197378", "141918")
    } | {
        f"observations.csv:{line}"
        for line, row in sample_rows("observations.csv")
        if row["CODE"] == "57905-2"
    }
    assert set(reasons) == set(corrupted) | dependents | refused_anyway
    for where, reason in corrupted.items():
        assert reason in reasons[where], where
    # A row that needs the orphaned encounter says so, naming the line that failed.
    for where in dependents - refused_anyway:
        assert "failed to import" in reasons[where] and "csv:" in reasons[where], where
    assert not any(
        orphan["Id"] in reason or orphan["PATIENT"] in reason for reason in reasons.values()
    )
    assert not any("2019-02-30" in reason for reason in reasons.values())
    assert bad_date["START"] != "2019-02-30"

    conditions = len(sample_rows("conditions.csv"))
    dependent_conditions = sum(1 for d in dependents if d.startswith("conditions.csv"))
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        assert session.scalar(select(func.count()).select_from(Condition)) == (
            conditions - dependent_conditions - 1
        )
        assert session.scalar(select(func.count()).select_from(Encounter)) == (
            len(sample_rows("encounters.csv")) - 1
        )
        keys = session.scalars(
            select(SourceKey.source_key).where(SourceKey.file == "encounters.csv")
        ).all()
        assert orphan["Id"] not in keys
        assert session.scalar(select(func.count()).select_from(Invoice)) == (
            len({row["APPOINTMENTID"] for _, row in sample_rows("claims.csv")}) - 1
        )
    assert report.files["patients.csv"].imported == len(sample_rows("patients.csv"))
    assert report.files["procedures.csv"].imported == len(sample_rows("procedures.csv")) - 1 - sum(
        1 for d in dependents if d.startswith("procedures.csv")
    )


def test_another_tenant_sees_nothing_of_an_import(database: Database, client: TestClient) -> None:
    owner, other = make_tenant(database=database), make_tenant(database=database)
    import_sample(database=database, tenant=owner)
    patients = synthea_ids(database, owner.id, "patients.csv")

    with database.transaction() as session:
        bind_tenant(session, other.id)
        for model in (Patient, Encounter, Condition, SourceKey):
            assert session.scalar(select(func.count()).select_from(model)) == 0
    assert synthea_ids(database, other.id, "patients.csv") == {}
    user = make_user(database=database, tenant=other, role=Role.PHYSICIAN)
    some_patient = next(iter(patients.values()))
    response = client.get(
        f"/api/v1/patients/{some_patient}", headers=bearer(client, tenant=other, user=user)
    )
    assert response.status_code == 404
    insider = make_user(database=database, tenant=owner, role=Role.PHYSICIAN)
    response = client.get(
        f"/api/v1/patients/{some_patient}", headers=bearer(client, tenant=owner, user=insider)
    )
    assert response.status_code == 200
