import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, PlainSerializer

from api.schemas.base import RequestModel, ResponseModel
from api.schemas.coding import Coding, CodingOut


def plain(value: Decimal) -> str:
    """`40`, not `40.000` or `4E+1`: amounts read the same however they were stored."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return str(value.normalize())


Amount = Annotated[Decimal, PlainSerializer(plain, return_type=str)]


class AmountIn(RequestModel):
    """`{"value": "500", "unit": "mg"}`; a plain string such as "500 mg" is accepted too."""

    value: str | int | float
    unit: str | None = Field(default=None, max_length=40)


class LooseCoding(RequestModel):
    """A coding whose system may be left out when the code alone is unambiguous (BID, PO)."""

    system: str | None = Field(default=None, max_length=200)
    code: str = Field(min_length=1, max_length=32)
    display: str | None = Field(default=None, max_length=300)


class PrescriptionCreate(RequestModel):
    medication: Coding = Field(description="RxNorm ingredient (IN) or clinical drug (SCD)")
    dose: str | AmountIn = Field(description='"500 mg" or {"value": "500", "unit": "mg"}')
    route: str | LooseCoding = Field(description='"oral", "PO", "IV"... or a SNOMED CT coding')
    frequency: str | LooseCoding = Field(description='"BID", "twice daily", "q8h", "PRN"...')
    duration_days: int | None = None
    quantity: str | int | float | AmountIn | None = Field(
        default=None, description='Amount to dispense per fill: 30, "30 tablets"...'
    )
    quantity_unit: str | None = Field(default=None, max_length=40)
    refills: int = 0
    prescriber_id: uuid.UUID | None = Field(
        default=None, description="Defaults to the practitioner linked to the signed-in user"
    )
    practitioner_id: uuid.UUID | None = Field(default=None, description="Alias of prescriber_id")
    encounter_id: uuid.UUID | None = None
    indication: Coding | None = Field(default=None, description="ICD-10-CM or SNOMED CT")
    note: str | None = Field(default=None, max_length=2000)
    status: Literal["draft", "active"] | None = Field(
        default=None,
        description="draft saves an unsigned order; default signs it if the user may sign",
    )
    override_reason: str | None = Field(default=None, max_length=500)
    patient_id: uuid.UUID | None = Field(default=None, description="If given, must match the path")


class SignIn(RequestModel):
    override_reason: str | None = Field(default=None, max_length=500)


class ReasonIn(RequestModel):
    reason: str | None = Field(default=None, max_length=500)


class AmountOut(ResponseModel):
    value: Amount
    unit: str


class FrequencyOut(ResponseModel):
    code: str
    display: str
    per_day: Amount | None
    as_needed: bool


class AllergyRef(ResponseModel):
    id: uuid.UUID | None
    substance: CodingOut
    severity: str | None = None


class FindingOut(ResponseModel):
    kind: Literal["interaction", "allergy", "duplicate"]
    severity: Literal["critical", "major", "moderate"]
    rule_id: str
    drug: CodingOut = Field(description="The ingredient of the prescribed drug concerned")
    interacting_drug: CodingOut | None
    interacting_prescription_id: uuid.UUID | None
    allergy: AllergyRef | None
    rationale: str
    management: str
    source: str
    overridden: bool


class OverrideOut(ResponseModel):
    reason: str
    by: uuid.UUID | None
    at: datetime | None


class PrescriptionOut(ResponseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    status: str
    medication: CodingOut
    ingredients: list[CodingOut]
    dose: AmountOut | None = Field(description="None only for an order imported without it")
    route: CodingOut | None
    frequency: FrequencyOut | None
    duration_days: int | None
    quantity: AmountOut | None
    refills: int
    dispensed_quantity: Amount
    remaining_quantity: Amount | None
    prescriber_id: uuid.UUID | None
    encounter_id: uuid.UUID | None
    indication: CodingOut | None
    note: str | None
    knowledge_version: str | None
    created_at: datetime
    created_by: uuid.UUID | None
    signed_at: datetime | None
    signed_by: uuid.UUID | None
    sent_at: datetime | None
    sent_by: uuid.UUID | None
    cancelled_at: datetime | None
    cancelled_by: uuid.UUID | None
    cancel_reason: str | None
    stopped_at: datetime | None
    stopped_by: uuid.UUID | None
    stop_reason: str | None
    last_dispensed_at: datetime | None
    override: OverrideOut | None
    findings: list[FindingOut]
