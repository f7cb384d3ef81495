"""`emr extract --tenant SLUG --out FILE.duckdb [--cohort NAME] [--identified]`.

Writes a DuckDB file and a Parquet folder beside it (FILE_parquet/, with the data dictionary
as Markdown and JSON) of a tenant's patient-level data, a cohort's, or chosen marts.
De-identified (HIPAA Safe Harbor) unless `--identified`, which needs `--user` naming a user
allowed `analytics.phi.read`. Every extract, and every refusal, is audited.
Exit codes: 0 done, 1 bad input or failure (nothing written), 2 not permitted.

The warehouse and extract modules (polars, pyarrow, DuckDB) are imported when the command
runs, so that every other `emr` command starts without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from transactional.database import Database
from transactional.identity.tenants import tenant_id_for_slug
from transactional.schema import SchemaOutOfDate, assert_schema_current
from transactional.settings import get_settings

if TYPE_CHECKING:
    from warehouse.cohorts.definition import CohortDefinition

DATE_MODES = ("shift", "year")


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=code)


def _cohort(name: str | None) -> CohortDefinition | None:
    from warehouse.cohorts.loader import InvalidCohort, UnknownCohort, find_definition

    if name is None:
        return None
    try:
        return find_definition(name)
    except (UnknownCohort, InvalidCohort) as exc:
        raise _fail(str(exc)) from None


def extract(
    tenant: Annotated[str, typer.Option(help="Tenant slug.")],
    out: Annotated[
        Path,
        typer.Option(help="DuckDB file to write; Parquet files go to FILE_parquet/ beside it."),
    ],
    cohort: Annotated[
        str | None,
        typer.Option(help="A shipped cohort name, or a cohort definition file (.yml)."),
    ] = None,
    mart: Annotated[
        list[str] | None,
        typer.Option("--mart", help="A mart to extract (repeatable) instead of patient tables."),
    ] = None,
    identified: Annotated[
        bool, typer.Option("--identified", help="Keep identifiers (needs analytics.phi.read).")
    ] = False,
    user: Annotated[
        str | None,
        typer.Option(
            "--user", help="E-mail of the user taking the extract (required with --identified)."
        ),
    ] = None,
    dates: Annotated[
        str, typer.Option(help="De-identified dates: 'shift' (per patient) or 'year'.")
    ] = "shift",
    force: Annotated[bool, typer.Option(help="Replace an existing extract.")] = False,
) -> None:
    """Write a research extract (DuckDB + Parquet), de-identified unless --identified."""
    from warehouse.client import Warehouse, WarehouseBusy
    from warehouse.cohorts.runner import WarehouseNotBuilt
    from warehouse.extracts.access import ExtractDenied, authorize, record_extract
    from warehouse.extracts.deidentify import DateMode
    from warehouse.extracts.extract import ExtractError, ExtractRequest, write_extract
    from warehouse.extracts.keys import extract_key
    from warehouse.extracts.writer import OutputExists, check_destination

    if dates not in DATE_MODES:
        raise _fail("--dates must be 'shift' or 'year'")
    date_mode: DateMode = "year" if dates == "year" else "shift"
    target = out.resolve()
    try:
        check_destination(target, force=force)
    except OutputExists as exc:
        raise _fail(str(exc)) from None
    definition = _cohort(cohort)
    settings = get_settings()
    database = Database.from_settings(settings)
    try:
        try:
            assert_schema_current(database.owner_engine)
        except SchemaOutOfDate as exc:
            raise _fail(str(exc)) from None
        with database.transaction() as session:
            tenant_id = tenant_id_for_slug(session=session, slug=tenant)
        if tenant_id is None:
            raise _fail(f"no tenant with slug {tenant!r}")
        try:
            requester = authorize(database, tenant_id=tenant_id, email=user, identified=identified)
        except ExtractDenied as exc:
            raise _fail(f"not permitted: {exc}", code=2) from None
        request = ExtractRequest(
            tenant_id=tenant_id,
            out=target,
            cohort=definition,
            marts=tuple(mart or ()),
            identified=identified,
            dates=date_mode,
            force=force,
        )
        try:
            report = write_extract(
                Warehouse.from_settings(settings),
                request,
                key=None if identified else extract_key(settings),
                before_publish=lambda made: record_extract(
                    database, requester=requester, request=request, report=made
                ),
            )
        except (ExtractError, OutputExists, WarehouseNotBuilt, WarehouseBusy) as exc:
            raise _fail(str(exc)) from None
    finally:
        database.dispose()
    kind = "identified" if identified else f"de-identified (dates: {date_mode})"
    typer.echo(f"{kind} extract {report.extract_id}")
    typer.echo(f"  {report.out}")
    typer.echo(f"  {report.parquet_dir}/ (Parquet, data_dictionary.md, data_dictionary.json)")
    for table, rows in sorted(report.rows.items()):
        typer.echo(f"  {table:24s} {rows:>10,d} rows")
