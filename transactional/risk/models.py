"""A risk score of one patient by one version of one model, kept as history.

Every computation appends a row (batch runs and on-demand requests alike); the current score
of a model is the patient's newest row for it. Rows are never edited: the app role may
insert and read, and only re-point `patient_id` when a duplicate record is merged.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    String,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from transactional.base import Base
from transactional.patients.models import PatientOwned

TIERS = ("low", "medium", "high")
SOURCES = ("batch", "on_demand")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class RiskScore(PatientOwned, Base):
    __tablename__ = "risk_scores"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "patient_id"], ["patients.tenant_id", "patients.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "encounter_id"], ["encounters.tenant_id", "encounters.id"]
        ),
        CheckConstraint("model ~ '^[a-z][a-z0-9_]*$'", name="model_format"),
        CheckConstraint("score >= 0 AND score <= 1", name="score_is_probability"),
        CheckConstraint(_in("tier", TIERS), name="tier_known"),
        CheckConstraint(_in("source", SOURCES), name="source_known"),
        CheckConstraint("jsonb_typeof(factors) = 'array'", name="factors_is_array"),
        CheckConstraint("jsonb_typeof(missing_inputs) = 'array'", name="missing_inputs_is_array"),
        Index(
            "ix_risk_scores_tenant_id_patient_id_model_computed_at",
            "tenant_id",
            "patient_id",
            "model",
            "computed_at",
        ),
    )

    model: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(32))
    # A probability to 8 decimals (exact in both databases; ClickHouse Decimal(38, 8)).
    score: Mapped[Decimal] = mapped_column(Numeric(9, 8))
    tier: Mapped[str] = mapped_column(String(10))
    # [{"name", "value", "contribution"}], largest contribution first.
    factors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    # Inputs the patient's record lacked, each scored as the model card says (never guessed).
    missing_inputs: Mapped[list[str]] = mapped_column(JSONB)
    index_date: Mapped[date] = mapped_column(Date)
    encounter_id: Mapped[uuid.UUID | None]
    source: Mapped[str] = mapped_column(String(10))
    computed_at: Mapped[datetime]
    computed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
