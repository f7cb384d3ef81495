import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from api.schemas.base import RequestModel, ResponseModel
from api.schemas.coding import Coding, CodingOut

EncounterClass = Literal["ambulatory", "emergency", "inpatient"]


class EncounterCreate(RequestModel):
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    encounter_class: EncounterClass = "ambulatory"
    location_id: uuid.UUID | None = None
    appointment_id: uuid.UUID | None = None
    reason: str | None = Field(default=None, max_length=500)
    start_at: datetime | None = Field(default=None, description="Defaults to now")
    admit_source: str | None = Field(default=None, max_length=40)


class Discharge(RequestModel):
    disposition: str = Field(min_length=1, max_length=40, description="e.g. home, snf, expired")
    at: datetime | None = None


class EncounterOut(ResponseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    location_id: uuid.UUID | None
    appointment_id: uuid.UUID | None
    encounter_class: EncounterClass
    reason: str | None
    status: str
    start_at: datetime
    end_at: datetime | None
    admitted_at: datetime | None
    admit_source: str | None
    discharged_at: datetime | None
    discharge_disposition: str | None


class VitalIn(RequestModel):
    code: Coding
    value: Decimal = Field(max_digits=12, decimal_places=4)
    unit: str = Field(min_length=1, max_length=40, description="UCUM, e.g. mm[Hg], kg, [lb_av]")
    effective_at: datetime | None = None


class VitalsIn(RequestModel):
    observations: list[VitalIn] = Field(min_length=1, max_length=20)


class ObservationOut(ResponseModel):
    id: uuid.UUID
    code: CodingOut
    value: Decimal
    unit: str
    effective_at: datetime
    is_derived: bool


class ConditionIn(RequestModel):
    code: Coding
    onset_date: date | None = None
    clinical_status: Literal[
        "active", "recurrence", "relapse", "inactive", "remission", "resolved"
    ] = "active"
    verification_status: Literal["provisional", "differential", "confirmed", "refuted"] = (
        "confirmed"
    )
    rank: int | None = Field(default=None, ge=1, le=12, description="1 = principal diagnosis")


class ConditionUpdate(RequestModel):
    clinical_status: Literal["active", "recurrence", "relapse", "inactive", "remission", "resolved"]
    abatement_date: date | None = None


class ConditionOut(ResponseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    encounter_id: uuid.UUID | None
    category: str
    code: CodingOut
    clinical_status: str
    verification_status: str
    onset_date: date | None
    abatement_date: date | None
    rank: int | None


class ProcedureIn(RequestModel):
    code: Coding
    performed_at: datetime | None = None
    performer_id: uuid.UUID | None = None
    units: int = Field(default=1, ge=1, le=999)
    modifiers: list[str] = Field(default_factory=list, max_length=4)


class ProcedureOut(ResponseModel):
    id: uuid.UUID
    encounter_id: uuid.UUID
    code: CodingOut
    units: int
    modifiers: list[str]
    performed_at: datetime
    performer_id: uuid.UUID | None


class NoteIn(RequestModel):
    subjective: str | None = Field(default=None, max_length=100_000)
    objective: str | None = Field(default=None, max_length=100_000)
    assessment: str | None = Field(default=None, max_length=100_000)
    plan: str | None = Field(default=None, max_length=100_000)


class Amendment(NoteIn):
    reason: str = Field(min_length=1, max_length=500)


class NoteVersionOut(ResponseModel):
    id: uuid.UUID
    note_id: uuid.UUID
    version: int
    encounter_id: uuid.UUID
    patient_id: uuid.UUID
    author_id: uuid.UUID
    subjective: str
    objective: str
    assessment: str
    plan: str
    status: Literal["draft", "signed"]
    signed_at: datetime | None
    signed_by: uuid.UUID | None
    amendment_reason: str | None
    created_at: datetime


class NoteOut(ResponseModel):
    note_id: uuid.UUID
    current: NoteVersionOut
    versions: list[NoteVersionOut]


class ChartOut(ResponseModel):
    """Everything charted in one encounter."""

    encounter: EncounterOut
    vitals: list[ObservationOut]
    diagnoses: list[ConditionOut]
    procedures: list[ProcedureOut]
    notes: list[NoteVersionOut]
