import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import Field

from api.schemas.base import ResponseModel


class RiskFactorOut(ResponseModel):
    name: str = Field(description="The model feature (see the model card)")
    value: float | int | bool | str | None = Field(
        description="The recorded input behind it (null when not recorded)"
    )
    contribution: float = Field(description="Its share of the log-odds, standardized")


class RiskScoreOut(ResponseModel):
    model: str
    version: str
    score: float = Field(ge=0, le=1, description="Predicted probability of the outcome")
    tier: Literal["low", "medium", "high"]
    factors: list[RiskFactorOut] = Field(description="Top contributing factors, largest first")
    computed_at: datetime
    missing_inputs: list[str] = Field(
        description="Inputs the record lacked, scored as the model card says (never guessed)"
    )
    index_date: date = Field(description="The date the inputs were taken as of")
    encounter_id: uuid.UUID | None = Field(description="The stay a readmission score is about")
    source: Literal["batch", "on_demand"]


class RiskScoreList(ResponseModel):
    items: list[RiskScoreOut]


class NotScoredOut(ResponseModel):
    model: str
    reason: str
    missing_inputs: list[str]


class RiskScoreComputation(ResponseModel):
    items: list[RiskScoreOut]
    not_scored: list[NotScoredOut]
