"""`emr seed --tenant SLUG --patients N --seed S`: a generated population, loaded in bulk.

The same seed, tenant, size and as-of date give the same rows on a fresh tenant. Prints what
was loaded, how fast, and the outcome rates with the AUROC a perfect model of the documented
outcome models would reach on this population (transactional/synthetic/MODEL.md).
"""

from datetime import date
from typing import Annotated

import typer

from transactional.database import Database
from transactional.errors import DomainError
from transactional.schema import SchemaOutOfDate, assert_schema_current
from transactional.settings import get_settings
from transactional.synthetic.seed import MAX_PATIENTS, seed_population


def seed(
    tenant: Annotated[str, typer.Option(help="Tenant slug; the tenant is created if new.")],
    patients: Annotated[
        int, typer.Option(min=1, max=MAX_PATIENTS, help="How many patients to generate.")
    ],
    seed: Annotated[int, typer.Option(min=0, help="Random seed: same seed, same data.")] = 1,
    as_of: Annotated[
        str | None,
        typer.Option(help="Last day of the history, YYYY-MM-DD (default: today)."),
    ] = None,
) -> None:
    """Generate a tenant's population (five years of care and billing) and load it."""
    try:
        last_day = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        typer.secho("error: --as-of must be a date, YYYY-MM-DD", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2) from None
    settings = get_settings()
    database = Database.from_settings(settings)
    try:
        assert_schema_current(database.owner_engine)
    except SchemaOutOfDate as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2) from None

    def progress(table: str, rows: int, seconds: float) -> None:
        typer.echo(f"  {table:22s} {rows:>10,d} rows  {seconds:7.1f} s", err=True)

    try:
        result = seed_population(
            database=database,
            slug=tenant,
            patients=patients,
            seed=seed,
            as_of=last_day,
            progress=progress,
        )
    except DomainError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=1) from None
    finally:
        database.dispose()
    summary = result.as_dict()
    rate = summary["rows"] / max(result.load_seconds, 1e-9)
    typer.echo(
        f"tenant {tenant}: {patients:,d} patients, {summary['rows']:,d} rows; "
        f"generated in {result.generate_seconds:.1f} s, loaded in {result.load_seconds:.1f} s "
        f"({rate:,.0f} rows/s)"
    )
    for outcome, figures in result.outcomes.items():
        typer.echo(
            f"  {outcome}: {figures['events']:,d} of {figures['units']:,d} "
            f"({figures['rate']:.2%}), achievable AUROC {figures['achievable_auroc']:.3f}"
        )
