import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import Field

from api.schemas.base import RequestModel, ResponseModel
from api.schemas.coding import Coding, CodingOut

Severity = Literal["mild", "moderate", "severe"]
Category = Literal["medication", "food", "environment", "biologic"]
Status = Literal["active", "inactive", "resolved", "entered_in_error"]


class AllergyCreate(RequestModel):
    substance: Coding = Field(description="RxNorm (drugs) or SNOMED CT (substances)")
    severity: Severity
    reaction: str | None = Field(default=None, max_length=300, description="e.g. hives")
    category: Category | None = Field(default=None, description="medication if RxNorm")
    onset_date: date | None = None


class AllergyUpdate(RequestModel):
    status: Status


class AllergyOut(ResponseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    substance: CodingOut
    category: Category | None
    severity: Severity | None = Field(description="None only for an allergy imported without it")
    reaction: str | None
    status: Status
    onset_date: date | None
    created_at: datetime
