"""Users of the caller's tenant; managed by administrators."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.deps import Principal, ServicesDep, SessionDep, require
from api.schemas.users import Me, UserCreate, UserOut, UserPage, UserUpdate
from transactional.identity import users
from transactional.identity.roles import Permission
from transactional.identity.tenants import get_current_tenant

router = APIRouter(prefix="/api/v1", tags=["users"])

Profile = Annotated[Principal, Depends(require(Permission.PROFILE_READ))]
UserReader = Annotated[Principal, Depends(require(Permission.USER_READ))]
UserManager = Annotated[Principal, Depends(require(Permission.USER_MANAGE))]


@router.get("/me", response_model=Me)
def me(principal: Profile, session: SessionDep) -> Me:
    tenant = get_current_tenant(session=session, tenant_id=principal.tenant_id)
    assert tenant is not None
    return Me(
        user=UserOut.model_validate(principal.user),
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        tenant_name=tenant.name,
        permissions=sorted(principal.permissions),
    )


@router.get("/users", response_model=UserPage)
def list_users(
    principal: UserReader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=320, description="next_cursor of the previous page")
    ] = None,
) -> UserPage:
    page = users.list_users(
        session=session, tenant_id=principal.tenant_id, limit=limit + 1, after_email=cursor
    )
    more = len(page) > limit
    page = page[:limit]
    return UserPage(
        items=[UserOut.model_validate(user) for user in page],
        next_cursor=page[-1].email if more else None,
    )


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(
    body: UserCreate, principal: UserManager, session: SessionDep, services: ServicesDep
) -> UserOut:
    user = users.create_user(
        session=session,
        tenant_id=principal.tenant_id,
        data=users.NewUser(
            email=body.email, role=body.role, password=body.password, display_name=body.display_name
        ),
        actor=principal.actor,
        password_min_length=services.settings.password_min_length,
    )
    return UserOut.model_validate(user)


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: uuid.UUID, principal: UserReader, session: SessionDep) -> UserOut:
    return UserOut.model_validate(
        users.get_user(session=session, tenant_id=principal.tenant_id, user_id=user_id)
    )


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(
    user_id: uuid.UUID, body: UserUpdate, principal: UserManager, session: SessionDep
) -> UserOut:
    user = users.update_user(
        session=session,
        tenant_id=principal.tenant_id,
        user_id=user_id,
        changes=users.UserChanges(
            display_name=body.display_name, role=body.role, is_active=body.is_active
        ),
        actor=principal.actor,
    )
    return UserOut.model_validate(user)


@router.post("/users/{user_id}/unlock", response_model=UserOut)
def unlock_user(user_id: uuid.UUID, principal: UserManager, session: SessionDep) -> UserOut:
    user = users.unlock_user(
        session=session, tenant_id=principal.tenant_id, user_id=user_id, actor=principal.actor
    )
    return UserOut.model_validate(user)


@router.post("/users/{user_id}/mfa/reset", response_model=UserOut)
def reset_mfa(user_id: uuid.UUID, principal: UserManager, session: SessionDep) -> UserOut:
    user = users.reset_mfa(
        session=session, tenant_id=principal.tenant_id, user_id=user_id, actor=principal.actor
    )
    return UserOut.model_validate(user)
