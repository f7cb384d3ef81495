import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from api.schemas.base import RequestModel, ResponseModel

AlertStatus = Literal["open", "acknowledged", "overridden", "resolved"]


class OverrideIn(RequestModel):
    reason: str = Field(min_length=1, max_length=500, description="Why the alert is not followed")


class SubjectOut(ResponseModel):
    type: str
    id: uuid.UUID


class SuggestedActionOut(ResponseModel):
    label: str


class AlertOut(ResponseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    source: str
    kind: str
    rule_id: str | None
    rule_version: str | None
    severity: Literal["info", "warning", "critical"]
    title: str
    rationale: str
    data: dict[str, Any]
    suggested_actions: list[SuggestedActionOut]
    recipient_practitioner_id: uuid.UUID | None
    subject: SubjectOut
    status: AlertStatus
    acted_by: uuid.UUID | None
    acted_at: datetime | None
    reason: str | None
    created_at: datetime
