import uuid
from datetime import datetime

from pydantic import Field, computed_field

from api.schemas.base import RequestModel, ResponseModel
from transactional.providers.models import NUCC_TAXONOMY_SYSTEM


class DepartmentCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)


class DepartmentOut(ResponseModel):
    id: uuid.UUID
    name: str
    created_at: datetime


class LocationCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    time_zone: str = Field(
        min_length=1, max_length=64, description="IANA time zone name, e.g. America/New_York"
    )


class LocationUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    time_zone: str | None = Field(default=None, min_length=1, max_length=64)
    is_active: bool | None = None


class LocationOut(ResponseModel):
    id: uuid.UUID
    name: str
    time_zone: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


NPI_HELP = "10-digit NPI; the last digit is a Luhn check digit"
SPECIALTIES_HELP = "NUCC provider taxonomy codes, e.g. 207Q00000X"


class PractitionerCreate(RequestModel):
    display_name: str = Field(min_length=1, max_length=200)
    npi: str | None = Field(default=None, max_length=10, description=NPI_HELP)
    specialty_codes: list[str] = Field(
        default_factory=list, max_length=20, description=SPECIALTIES_HELP
    )
    department_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = Field(default=None, description="the practitioner's sign-in")


class PractitionerUpdate(RequestModel):
    """Only the fields sent change; `null` clears the NPI, department or user link."""

    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    npi: str | None = Field(default=None, max_length=10, description=NPI_HELP)
    specialty_codes: list[str] | None = Field(
        default=None, max_length=20, description=SPECIALTIES_HELP
    )
    department_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    is_active: bool | None = None


class PractitionerOut(ResponseModel):
    id: uuid.UUID
    display_name: str
    npi: str | None
    specialty_codes: list[str]
    department_id: uuid.UUID | None
    user_id: uuid.UUID | None
    is_active: bool
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def specialty_code_system(self) -> str:
        return NUCC_TAXONOMY_SYSTEM


class PractitionerPage(ResponseModel):
    items: list[PractitionerOut]
    next_cursor: uuid.UUID | None
