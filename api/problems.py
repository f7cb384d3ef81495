"""RFC 9457 problem details for every error the API returns.

`type` is a stable URN per kind of problem. Responses never carry stack traces, SQL, or the
offending input values (which may be PHI); validation errors name the field and the rule.
"""

import logging
import traceback
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from transactional.errors import Conflict, DomainError, InvalidInput, NotFound

log = logging.getLogger("emr.api")

MEDIA_TYPE = "application/problem+json"
_TYPE_PREFIX = "urn:emr:problem:"

_HTTP_KINDS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Permission denied"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Invalid request"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal-error", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


class Problem(Exception):
    """Raise to answer with a problem document.

    `keep_writes=True` commits what the request wrote before refusing (audit events, failed
    sign-in counters); by default the request's transaction rolls back.
    """

    def __init__(
        self,
        status: int,
        kind: str | None = None,
        detail: str | None = None,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        keep_writes: bool = False,
    ) -> None:
        default_kind, default_title = _HTTP_KINDS.get(status, ("error", "Error"))
        self.status = status
        self.kind = kind or default_kind
        self.title = title or default_title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra or {}
        self.keep_writes = keep_writes
        super().__init__(self.kind)


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": _TYPE_PREFIX + problem.kind,
        "title": problem.title,
        "status": problem.status,
    }
    if problem.detail:
        body["detail"] = problem.detail
    if request is not None:
        body["instance"] = request.url.path
    body.update(problem.extra)
    return JSONResponse(
        body, status_code=problem.status, headers=problem.headers, media_type=MEDIA_TYPE
    )


def _validation_problem(exc: RequestValidationError) -> Problem:
    errors = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            return Problem(400, "malformed-json", "The request body is not valid JSON.")
        errors.append(
            {
                "loc": [str(part) for part in error.get("loc", ())],
                "type": error.get("type"),
                "msg": error.get("msg"),
            }
        )
    return Problem(422, detail="The request does not match the schema.", extra={"errors": errors})


def _domain_problem(exc: DomainError) -> Problem:
    if isinstance(exc, NotFound):
        return Problem(404, detail=str(exc))
    if isinstance(exc, Conflict):
        return Problem(409, detail=str(exc))
    if isinstance(exc, InvalidInput):
        return Problem(422, "invalid-input", str(exc), title="Invalid input")
    return Problem(400, detail=str(exc))


_OUR_PACKAGES = ("/api/", "/transactional/", "/warehouse/")


def log_unexpected(exc: BaseException) -> None:
    """Log where it failed but not the message: driver errors embed row values (PHI).

    Names the innermost frames of our own code first (where to look), then the innermost
    frames overall (what raised).
    """
    frames = traceback.extract_tb(exc.__traceback__)[::-1]
    ours = [f for f in frames if any(p in f.filename for p in _OUR_PACKAGES)][:3]

    def where(chosen: list[traceback.FrameSummary]) -> str:
        return " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}" for f in chosen)

    log.error(
        "unhandled %s in %s; raised at %s", type(exc).__name__, where(ours), where(frames[:3])
    )


def install(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code < 500 else None
        return problem_response(
            Problem(exc.status_code, detail=detail, headers=exc.headers), request
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(_validation_problem(exc), request)

    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_response(_domain_problem(exc), request)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(DomainError, on_domain)
