"""Request dependencies: services, the transaction, the signed-in principal, permissions.

Every route under /api/v1 (but sign-in and refresh) depends on `require(...)`, which
authenticates, binds the tenant for row-level security and checks one permission.
"""

import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.problems import Problem
from api.services import Services
from api.tokens import InvalidAccessToken
from transactional.audit.trail import Actor, AuditEntry, Outcome, record
from transactional.base import utcnow
from transactional.identity.models import User
from transactional.identity.roles import Permission, Role, permissions_for
from transactional.identity.signin import active_session_user


async def get_services(request: Request) -> Services:
    """Async on purpose, like every dependency that does no I/O: a sync one costs a hop to
    the thread pool on every request."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def request_actor(request: Request) -> Actor:
    """The client part of an audit actor, without a user yet."""
    return Actor(
        user_id=None,
        role=None,
        client_address=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def get_session(services: ServicesDep) -> Iterator[Session]:
    """One transaction per request as the app role, committed before the response is sent.

    Any exception rolls it back, except a `Problem` raised with `keep_writes=True`.
    """
    with services.database.sessions() as session:
        try:
            yield session
        except Problem as problem:
            if problem.keep_writes:
                session.commit()
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
        else:
            session.commit()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


@dataclass(frozen=True)
class Principal:
    user: User
    tenant_id: uuid.UUID
    session_id: uuid.UUID
    role: Role
    permissions: frozenset[Permission]
    actor: Actor

    @property
    def user_id(self) -> uuid.UUID:
        return self.user.id


def _unauthenticated(detail: str) -> Problem:
    return Problem(401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def get_principal(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(bearer)],
) -> Principal:
    if not token:
        raise _unauthenticated("A bearer access token is required.")
    try:
        claims = services.tokens.decode(token)
    except InvalidAccessToken:
        raise _unauthenticated("The access token is invalid or expired.") from None
    user = active_session_user(
        session=session,
        tenant_id=claims.tenant_id,
        session_id=claims.session_id,
        user_id=claims.user_id,
        policy=services.policy,
        now=utcnow(),
    )
    if user is None:
        raise _unauthenticated("The session has ended; sign in again.")
    role = user.role_enum
    client = request_actor(request)
    return Principal(
        user=user,
        tenant_id=claims.tenant_id,
        session_id=claims.session_id,
        role=role,
        permissions=permissions_for(role),
        actor=Actor(user.id, role.value, client.client_address, client.user_agent),
    )


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the principal, if it holds `permission`; else an audited 403."""

    async def dependency(
        request: Request, principal: PrincipalDep, session: SessionDep, services: ServicesDep
    ) -> Principal:
        if permission in principal.permissions:
            return principal
        route = request.scope.get("route")
        await run_in_threadpool(
            record,
            session=session,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            entry=AuditEntry(
                action="permission.denied",
                outcome=Outcome.DENIED,
                resource_type="route",
                resource_id=getattr(route, "path", None),
                detail={"permission": permission.value, "method": request.method},
            ),
        )
        services.metrics.permission_denials.labels(permission.value).inc()
        raise Problem(
            403, detail=f"This action needs the {permission.value!r} permission.", keep_writes=True
        )

    dependency.required_permission = permission  # type: ignore[attr-defined]
    return dependency
