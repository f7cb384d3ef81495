import uuid
from datetime import datetime

from pydantic import Field

from api.schemas.base import RequestModel, ResponseModel
from transactional.identity.roles import Permission, Role


class UserOut(ResponseModel):
    id: uuid.UUID
    email: str
    display_name: str
    role: Role
    is_active: bool
    mfa_enabled: bool
    locked_until: datetime | None
    created_at: datetime


class UserPage(ResponseModel):
    items: list[UserOut]
    next_cursor: str | None


class UserCreate(RequestModel):
    email: str = Field(min_length=3, max_length=320)
    role: Role
    password: str = Field(min_length=1, max_length=1024)
    display_name: str | None = Field(default=None, max_length=200)


class UserUpdate(RequestModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    is_active: bool | None = None


class Me(ResponseModel):
    user: UserOut
    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_name: str
    permissions: list[Permission]
