import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import Field

from api.schemas.base import RequestModel, ResponseModel

Sex = Literal["male", "female", "other", "unknown"]


class Address(RequestModel):
    line1: str | None = Field(default=None, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, max_length=50)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, min_length=2, max_length=2, description="ISO 3166-1")


class EmergencyContact(RequestModel):
    name: str | None = Field(default=None, max_length=200)
    relationship: str | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, max_length=32)


class IdentifierIn(RequestModel):
    system: str = Field(min_length=1, max_length=200, description="URI of the issuing system")
    value: str = Field(min_length=1, max_length=100)
    type_code: str | None = Field(default=None, max_length=20, description="v2-0203, e.g. DL")


class PatientFields(RequestModel):
    middle_name: str | None = Field(default=None, max_length=100)
    gender_identity: str | None = Field(default=None, max_length=64)
    race: str | None = Field(default=None, max_length=64)
    ethnicity: str | None = Field(default=None, max_length=64)
    preferred_language: str | None = Field(default=None, max_length=35, description="BCP 47")
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=320)
    address: Address | None = None
    emergency_contact: EmergencyContact | None = None


class PatientCreate(PatientFields):
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    sex: Sex
    ssn: str | None = Field(default=None, max_length=11)
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=20)


class PatientUpdate(PatientFields):
    given_name: str | None = Field(default=None, min_length=1, max_length=100)
    family_name: str | None = Field(default=None, min_length=1, max_length=100)
    birth_date: date | None = None
    sex: Sex | None = None
    ssn: str | None = Field(default=None, max_length=11)


class IdentifierOut(ResponseModel):
    system: str
    value: str
    type_code: str | None


class AddressOut(ResponseModel):
    line1: str | None
    line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None


class EmergencyContactOut(ResponseModel):
    name: str | None
    relationship: str | None
    phone: str | None


class PatientOut(ResponseModel):
    id: uuid.UUID
    mrn: str
    given_name: str
    middle_name: str | None
    family_name: str
    birth_date: date
    sex: Sex
    gender_identity: str | None
    race: str | None
    ethnicity: str | None
    preferred_language: str | None
    phone: str | None
    email: str | None
    address: AddressOut
    emergency_contact: EmergencyContactOut
    ssn: str | None = Field(description="Masked, e.g. ***-**-6789")
    identifiers: list[IdentifierOut]
    created_at: datetime
    updated_at: datetime
    version: int


class PatientPage(ResponseModel):
    items: list[PatientOut]
    next_cursor: uuid.UUID | None


class PatientSearch(RequestModel):
    """For searches by values that must not appear in a URL (SSN)."""

    q: str | None = Field(default=None, max_length=200)
    birth_date: date | None = None
    phone: str | None = Field(default=None, max_length=32)
    identifier: str | None = Field(default=None, max_length=301)
    ssn: str | None = Field(default=None, max_length=11)
    limit: int = Field(default=20, ge=1, le=100)
    cursor: uuid.UUID | None = None


class SsnOut(ResponseModel):
    ssn: str | None


class MergeRequest(RequestModel):
    duplicate_id: uuid.UUID
