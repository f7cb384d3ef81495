"""`emr import synthea DIR --tenant SLUG`: load a Synthea CSV export into a tenant.

Prints, per file, the rows read, imported, already present, failed and skipped, then each
failure as `file:line: reason`. Exits 0 when every row was imported or already present
(rows of kinds this EMR has no place for are skipped, not failed), 1 when some rows failed
(the others were imported all the same), 2 when nothing could be imported at all.
"""

import uuid
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from transactional.database import Database
from transactional.errors import DomainError
from transactional.identity.tenants import ensure_tenant
from transactional.schema import SchemaOutOfDate, assert_schema_current
from transactional.secrets import load_secrets
from transactional.settings import get_settings
from transactional.synthea.importer import import_synthea, synthea_files

import_app = typer.Typer(no_args_is_help=True, help="Import records kept by other systems.")


def _tenant(database: Database, slug: str) -> tuple[uuid.UUID, bool]:
    """The tenant's id, creating it (as the owner, with its audit event) if it is new."""
    with Session(database.owner_engine, expire_on_commit=False) as session, session.begin():
        tenant, created = ensure_tenant(owner_session=session, slug=slug)
    return tenant.id, created


@import_app.command("synthea")
def synthea(
    folder: Annotated[
        Path,
        typer.Argument(
            exists=True, file_okay=False, dir_okay=True, help="Folder of Synthea CSV files."
        ),
    ],
    tenant: Annotated[str, typer.Option(help="Tenant slug; the tenant is created if new.")],
) -> None:
    """Import a Synthea CSV export (patients.csv, encounters.csv, claims.csv...)."""
    if not any((folder / name).is_file() for name in synthea_files()):
        typer.secho(f"error: {folder} holds no Synthea CSV file", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2)
    settings = get_settings()
    database = Database.from_settings(settings)
    try:
        assert_schema_current(database.owner_engine)
        tenant_id, created = _tenant(database, tenant)
        if created:
            typer.echo(f"created tenant {tenant}")
        report = import_synthea(
            database=database,
            tenant_id=tenant_id,
            tenant_label=tenant,
            folder=folder,
            secrets=load_secrets(settings),
        )
    except (DomainError, SchemaOutOfDate) as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2) from None
    finally:
        database.dispose()
    typer.echo(report.render())
    raise typer.Exit(code=1 if report.failed else 0)
