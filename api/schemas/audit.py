import uuid
from datetime import datetime
from typing import Any

from pydantic import IPvAnyAddress

from api.schemas.base import ResponseModel


class AuditEventOut(ResponseModel):
    id: uuid.UUID
    chain: int
    seq: int
    occurred_at: datetime
    actor_user_id: uuid.UUID | None
    actor_role: str | None
    patient_id: uuid.UUID | None
    action: str
    resource_type: str | None
    resource_id: str | None
    outcome: str
    client_address: IPvAnyAddress | None
    user_agent: str | None
    detail: dict[str, Any]
    hash: str


class AuditEventPage(ResponseModel):
    items: list[AuditEventOut]
    next_cursor: uuid.UUID | None


class BrokenEvent(ResponseModel):
    id: uuid.UUID
    chain: int
    seq: int
    reason: str


class AuditVerification(ResponseModel):
    valid: bool
    events_checked: int
    first_broken: BrokenEvent | None
