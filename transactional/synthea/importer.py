"""Importing a folder of Synthea CSV files into one tenant.

Files are imported in the order their references need (organizations and providers before
encounters, patients before everything of theirs, claims last), each in a transaction of its
own as the app role, so row-level security checks every row and a failure never undoes
another file. A row that fails is reported with its file and line and the rest goes on; a
row already imported (its source key recorded) is counted and left alone, so importing the
same files again changes nothing. One audit event per file records the counts.
"""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Table
from sqlalchemy.orm import Session

from transactional.audit.trail import SYSTEM, Actor, AuditEntry, record
from transactional.base import utcnow
from transactional.database import Database
from transactional.secrets import Secrets
from transactional.synthea import billing, clinical, directory, encounters, observations, people
from transactional.synthea.batch import Batch
from transactional.synthea.report import ImportReport
from transactional.synthea.source import SourceFile, SourceRow, read_file
from transactional.synthea.state import State, load_state
from transactional.synthea.writer import write_units
from transactional.tenancy import bind_tenant


@dataclass(frozen=True)
class Step:
    file: str
    columns: tuple[str, ...]
    run: Callable[[Batch, list[SourceRow]], None]
    order: tuple[Table, ...]


STEPS = (
    Step(
        "organizations.csv",
        directory.ORGANIZATION_COLUMNS,
        directory.import_organizations,
        (directory.LOCATIONS,),
    ),
    Step(
        "providers.csv",
        directory.PROVIDER_COLUMNS,
        directory.import_providers,
        (directory.DEPARTMENTS, directory.PRACTITIONERS),
    ),
    Step("payers.csv", directory.PAYER_COLUMNS, directory.import_payers, (directory.PAYERS,)),
    Step(
        "patients.csv",
        people.PATIENT_COLUMNS,
        people.import_patients,
        (people.PATIENTS, people.IDENTIFIERS),
    ),
    Step(
        "payer_transitions.csv",
        people.TRANSITION_COLUMNS,
        people.import_payer_transitions,
        (people.COVERAGES,),
    ),
    Step(
        "encounters.csv",
        encounters.COLUMNS,
        encounters.import_encounters,
        (encounters.ENCOUNTERS,),
    ),
    Step(
        "conditions.csv",
        clinical.CONDITION_COLUMNS,
        clinical.import_conditions,
        (clinical.CONDITIONS,),
    ),
    Step(
        "allergies.csv", clinical.ALLERGY_COLUMNS, clinical.import_allergies, (clinical.ALLERGIES,)
    ),
    Step(
        "procedures.csv",
        clinical.PROCEDURE_COLUMNS,
        clinical.import_procedures,
        (clinical.PROCEDURES,),
    ),
    Step(
        "immunizations.csv",
        clinical.IMMUNIZATION_COLUMNS,
        clinical.import_immunizations,
        (clinical.IMMUNIZATIONS,),
    ),
    Step(
        "medications.csv",
        clinical.MEDICATION_COLUMNS,
        clinical.import_medications,
        (clinical.PRESCRIPTIONS,),
    ),
    Step(
        "observations.csv",
        observations.COLUMNS,
        observations.import_observations,
        (observations.OBSERVATIONS, observations.ORDERS, observations.LAB_RESULTS),
    ),
)

# Files of a Synthea export this EMR has no place for yet, and why.
NOT_IMPORTED = {
    "careplans.csv": "care plans have no place in this EMR yet",
    "devices.csv": "implanted devices have no place in this EMR yet",
    "imaging_studies.csv": (
        "imaging studies (DICOM series) have no place here: imaging orders take LOINC or CPT "
        "codes and carry reports"
    ),
    "supplies.csv": "supplies used have no place in this EMR yet",
}


def synthea_files() -> tuple[str, ...]:
    """Every file name of a Synthea CSV export, imported or not."""
    billed = (billing.CLAIMS_FILE, billing.TRANSACTIONS_FILE)
    return (*(step.file for step in STEPS), *billed, *NOT_IMPORTED)


@dataclass
class _Run:
    database: Database
    tenant_id: uuid.UUID
    folder: Path
    secrets: Secrets | None
    report: ImportReport
    state: State
    actor: Actor

    def read(self, file: str, columns: tuple[str, ...]) -> SourceFile | None:
        path = self.folder / file
        summary = self.report.file(file)
        if not path.is_file():
            summary.found = False
            return None
        source = read_file(path, columns)
        summary.read = source.read
        for line, reason in source.unreadable:
            self.report.fail(file, line, reason)
        return source

    def batch(self, session: Session, file: str) -> Batch:
        bind_tenant(session, self.tenant_id)
        return Batch(session, self.state, self.report, file, utcnow(), self.secrets)

    def audit(self, session: Session, file: str) -> None:
        summary = self.report.file(file)
        if not summary.imported:
            return
        record(
            session=session,
            tenant_id=self.tenant_id,
            actor=self.actor,
            entry=AuditEntry(
                action="synthea.import",
                resource_type="import_file",
                resource_id=file,
                detail={
                    "file": file,
                    "read": summary.read,
                    "imported": summary.imported,
                    "present": summary.present,
                    "failed": summary.failed,
                    "skipped": summary.skipped,
                },
            ),
        )


def import_synthea(
    *,
    database: Database,
    tenant_id: uuid.UUID,
    tenant_label: str,
    folder: Path,
    secrets: Secrets | None = None,
    actor: Actor = SYSTEM,
) -> ImportReport:
    """Import every Synthea file found in `folder` into the tenant; never raises for bad rows.

    `secrets` (the field-encryption keys) are needed to store SSNs that pass the SSN rules;
    without them such SSNs are left out and counted.
    """
    started = time.perf_counter()
    report = ImportReport(tenant_label)
    with database.transaction() as session:
        bind_tenant(session, tenant_id)
        state = load_state(session, tenant_id)
    run = _Run(database, tenant_id, folder, secrets, report, state, actor)
    for step in STEPS:
        source = run.read(step.file, step.columns)
        if source is None:
            continue
        with database.transaction() as session:
            batch = run.batch(session, step.file)
            step.run(batch, source.rows)
            write_units(
                session=session,
                tenant_id=tenant_id,
                units=batch.units,
                order=step.order,
                report=report,
                failed=state.failed,
            )
            run.audit(session, step.file)
    _billing(run)
    for file, reason in NOT_IMPORTED.items():
        source = run.read(file, ())
        if source is not None:
            report.file(file).skip(reason, len(source.rows))
    report.seconds = time.perf_counter() - started
    return report


def _billing(run: _Run) -> None:
    claims = run.read(billing.CLAIMS_FILE, billing.CLAIM_COLUMNS)
    transactions = run.read(billing.TRANSACTIONS_FILE, billing.TRANSACTION_COLUMNS)
    if claims is None:
        if transactions is not None:
            for row in transactions.rows:
                run.report.fail(billing.TRANSACTIONS_FILE, row.line, "claims.csv is missing")
        return
    with run.database.transaction() as session:
        claim_batch = run.batch(session, billing.CLAIMS_FILE)
        transaction_batch = run.batch(session, billing.TRANSACTIONS_FILE)
        billing.import_billing(
            claim_batch,
            transaction_batch,
            claims.rows,
            transactions.rows if transactions is not None else [],
        )
        write_units(
            session=session,
            tenant_id=run.tenant_id,
            # Claims before transactions: a row is only ever written after what it needs.
            units=[*claim_batch.units, *transaction_batch.units],
            order=billing.ORDER,
            report=run.report,
            failed=run.state.failed,
        )
        run.audit(session, billing.CLAIMS_FILE)
        run.audit(session, billing.TRANSACTIONS_FILE)
