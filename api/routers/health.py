"""Liveness, readiness (PostgreSQL and the warehouse) and Prometheus metrics."""

import logging
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import ServicesDep
from api.problems import Problem, problem_response
from transactional.schema import SchemaOutOfDate, assert_schema_current
from warehouse.client import WarehouseBusy

router = APIRouter(tags=["operations"])
log = logging.getLogger("emr.api")
WAREHOUSE_WAIT_SECONDS = 2.0


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up. Touches no dependency."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(services: ServicesDep) -> dict[str, Any] | JSONResponse:
    """Ready to serve: PostgreSQL answers as the app role at the expected schema, and the
    warehouse answers a query."""
    checks: dict[str, str] = {}
    try:
        with services.database.app_engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert_schema_current(services.database.app_engine)
        checks["postgres"] = "ok"
    except SchemaOutOfDate:
        checks["postgres"] = "schema out of date"
    except Exception as exc:
        log.warning("readiness: postgres check failed with %s", type(exc).__name__)
        checks["postgres"] = "unavailable"
    try:
        with services.warehouse.connect(timeout=WAREHOUSE_WAIT_SECONDS) as client:
            client.command("SELECT 1")
        checks["warehouse"] = "ok"
    except WarehouseBusy:
        # The embedded warehouse is held by another process (a dbt build holds it for minutes):
        # busy, not down, and the clinical API does not need it to serve.
        checks["warehouse"] = "busy"
    except Exception as exc:
        log.warning("readiness: warehouse check failed with %s", type(exc).__name__)
        checks["warehouse"] = "unavailable"
    if all(value in ("ok", "busy") for value in checks.values()):
        return {"status": "ready", "checks": checks}
    return problem_response(
        Problem(503, detail="A dependency is not ready.", extra={"checks": checks})
    )


@router.get("/metrics")
def metrics(services: ServicesDep) -> Response:
    return Response(services.metrics.render(), media_type="text/plain; version=0.0.4")
