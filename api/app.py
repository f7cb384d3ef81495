"""The FastAPI application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from api import problems
from api.middleware import BodySizeLimit, RequestMetrics, UnexpectedErrors
from api.routers import (
    alerts,
    allergies,
    appointments,
    audit,
    auth,
    availability,
    cds_hooks,
    charges,
    claims,
    coverage,
    encounters,
    front_desk,
    health,
    notes,
    orders,
    patients,
    payments,
    pharmacy,
    prescriptions,
    providers,
    risk_scores,
    users,
)
from api.services import Services
from transactional.schema import assert_schema_current
from transactional.settings import Settings, get_settings


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    services = services or Services.build(settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Refuse to serve on a schema that is behind the code; the message names the fix.
        await run_in_threadpool(assert_schema_current, services.database.app_engine)
        yield
        services.database.dispose()

    app = FastAPI(
        title="EMR API",
        version="0.1.0",
        description="Operational API of an analytics-first electronic medical record.",
        lifespan=lifespan,
    )
    app.state.services = services
    problems.install(app)
    for router in (
        health.router,
        auth.router,
        users.router,
        audit.router,
        patients.router,
        coverage.router,
        providers.router,
        availability.router,
        appointments.router,
        front_desk.router,
        encounters.router,
        notes.router,
        allergies.router,
        charges.router,
        claims.router,
        payments.router,
        prescriptions.router,
        pharmacy.router,
        orders.router,
        alerts.router,
        cds_hooks.router,
        risk_scores.router,
    ):
        app.include_router(router)
    # Each add wraps the previous: metrics (outermost) see every answer, 413s and 500s included.
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(BodySizeLimit, max_bytes=services.settings.max_request_bytes)
    app.add_middleware(RequestMetrics, metrics=services.metrics)
    return app
