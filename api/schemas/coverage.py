import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import Field

from api.schemas.base import RequestModel, ResponseModel

PayerType = Literal["commercial", "medicare", "medicaid", "self_pay", "workers_comp", "other"]
Relationship = Literal["self", "spouse", "child", "other"]


class PayerCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    payer_type: PayerType
    external_id: str | None = Field(default=None, max_length=64)


class PayerOut(ResponseModel):
    id: uuid.UUID
    name: str
    payer_type: PayerType
    external_id: str | None


class CoverageCreate(RequestModel):
    payer_id: uuid.UUID
    member_id: str = Field(min_length=1, max_length=64)
    plan_name: str | None = Field(default=None, max_length=200)
    group_number: str | None = Field(default=None, max_length=64)
    subscriber_relationship: Relationship = "self"
    period_start: date
    period_end: date | None = None
    priority: int = Field(default=1, ge=1, le=9, description="1 = primary")


class CoverageUpdate(RequestModel):
    period_end: date | None = None
    status: Literal["active", "cancelled"] = "active"


class CoverageOut(ResponseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    payer_id: uuid.UUID
    member_id: str
    plan_name: str | None
    group_number: str | None
    subscriber_relationship: Relationship
    period_start: date
    period_end: date | None
    priority: int
    status: Literal["active", "cancelled"]
    created_at: datetime
