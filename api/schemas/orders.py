import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, Field

from api.schemas.base import RequestModel, ResponseModel
from api.schemas.coding import Coding, CodingOut

Category = Literal["laboratory", "imaging"]
Priority = Literal["routine", "urgent", "asap", "stat"]
OrderStatus = Literal["active", "specimen_collected", "resulted", "cancelled", "entered_in_error"]
SpecimenType = Literal[
    "blood",
    "serum",
    "plasma",
    "urine",
    "stool",
    "cerebrospinal_fluid",
    "saliva",
    "buccal_swab",
    "nasopharyngeal_swab",
    "tissue",
]
AbnormalFlag = Literal["N", "L", "H", "LL", "HH", "A"]
ResultValue = Decimal  # sent as decimal strings ("5.9"); answered as strings, never floats


class OrderCreate(RequestModel):
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID = Field(description="The ordering practitioner")
    encounter_id: uuid.UUID | None = None
    category: Category
    code: Coding = Field(
        description="laboratory: a LOINC test or panel; imaging: a LOINC radiology or CPT code"
    )
    priority: Priority = "routine"
    reason: Coding | None = Field(default=None, description="ICD-10-CM or SNOMED CT")
    note: str | None = Field(default=None, max_length=1000)


class SpecimenIn(RequestModel):
    specimen_type: SpecimenType
    collected_at: AwareDatetime | None = Field(default=None, description="Defaults to now")


class ReasonIn(RequestModel):
    reason: str = Field(min_length=1, max_length=500)


class ReferenceRange(RequestModel):
    low: ResultValue | None = Field(default=None, max_digits=18, decimal_places=6)
    high: ResultValue | None = Field(default=None, max_digits=18, decimal_places=6)


class ResultIn(RequestModel):
    code: Coding
    value: ResultValue | None = Field(
        default=None, max_digits=18, decimal_places=6, description='A decimal string, e.g. "5.9"'
    )
    unit: str | None = Field(default=None, min_length=1, max_length=40, description="UCUM")
    value_code: Coding | str | None = Field(
        default=None, description="A LOINC answer code of the test, e.g. LA9657-3"
    )
    value_text: str | None = Field(default=None, min_length=1, max_length=2000)
    reference_range: ReferenceRange | None = Field(
        default=None, description="The laboratory's own interval, in the unit of the value"
    )
    interpretation: str | None = Field(default=None, max_length=1000)


class ResultsIn(RequestModel):
    results: list[ResultIn] = Field(min_length=1, max_length=60)
    status: Literal["preliminary", "final"] = "final"


class ReportIn(RequestModel):
    text: str = Field(min_length=1, max_length=100_000)
    status: Literal["draft", "final"] = "draft"
    kind: Literal["correction", "addendum"] | None = Field(
        default=None, description="Only once the report is final"
    )
    reason: str | None = Field(default=None, min_length=1, max_length=500)


class SpecimenOut(ResponseModel):
    specimen_type: str
    collected_at: datetime
    collected_by: uuid.UUID | None


class RangeOut(ResponseModel):
    low: ResultValue | None
    high: ResultValue | None


class ResultOut(ResponseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    code: CodingOut
    status: Literal["preliminary", "final", "superseded", "entered_in_error"]
    value: ResultValue | None
    unit: str | None
    value_code: CodingOut | None
    value_text: str | None
    reference_range: RangeOut | None
    critical_range: RangeOut | None
    abnormal_flag: AbnormalFlag | None
    interpretation: str | None
    effective_at: datetime
    issued_at: datetime
    alert_id: uuid.UUID | None = Field(
        default=None, description="The critical-result alert this result raised"
    )


class ReportVersionOut(ResponseModel):
    id: uuid.UUID
    version: int
    kind: Literal["original", "correction", "addendum"]
    status: Literal["draft", "final"]
    text: str
    reason: str | None
    author_id: uuid.UUID
    signed_at: datetime | None
    signed_by: uuid.UUID | None
    created_at: datetime


class OrderSummaryOut(ResponseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    encounter_id: uuid.UUID | None
    practitioner_id: uuid.UUID
    category: Category
    code: CodingOut
    priority: Priority
    reason: CodingOut | None
    note: str | None
    status: OrderStatus
    result_status: Literal["preliminary", "final"] | None
    ordered_at: datetime
    ordered_by: uuid.UUID | None
    specimen: SpecimenOut | None
    resulted_at: datetime | None
    closed_at: datetime | None
    closed_reason: str | None


class OrderOut(OrderSummaryOut):
    results: list[ResultOut]
    report: list[ReportVersionOut]


class RecordedResultsOut(ResponseModel):
    order_id: uuid.UUID
    order_status: OrderStatus
    result_status: Literal["preliminary", "final"] | None
    results: list[ResultOut]
