from pydantic import Field

from api.schemas.base import RequestModel, ResponseModel


class Coding(RequestModel):
    """A code with its system, as FHIR carries it (e.g. `http://loinc.org`, `8480-6`)."""

    system: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=1, max_length=32)
    display: str | None = Field(default=None, max_length=300)


class CodingOut(ResponseModel):
    system: str
    code: str
    display: str | None
