"""Storing and reading risk scores. Callers own the transaction and bind the tenant.

A batch run writes thousands of scores in one statement and one audit event (model, version
and count); an on-demand score is one row and one audit event naming the patient. Reading a
patient's current scores is audited like any other chart read.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.errors import InvalidInput
from transactional.patients.models import Patient
from transactional.patients.registry import find_patient
from transactional.risk.models import SOURCES, TIERS, RiskScore

BATCH_ROWS = 5_000


@dataclass(frozen=True)
class NewScore:
    patient_id: uuid.UUID
    model: str
    model_version: str
    score: float
    tier: str
    factors: list[dict[str, Any]]
    index_date: date
    computed_at: datetime
    missing_inputs: list[str] = field(default_factory=list)
    encounter_id: uuid.UUID | None = None


def _check(score: NewScore) -> None:
    if not 0.0 <= score.score <= 1.0:
        raise InvalidInput("a risk score is a probability between 0 and 1")
    if score.tier not in TIERS:
        raise InvalidInput(f"tier must be one of: {', '.join(TIERS)}")


def _row(tenant_id: uuid.UUID, score: NewScore, source: str, actor: Actor) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "patient_id": score.patient_id,
        "model": score.model,
        "model_version": score.model_version,
        "score": Decimal(f"{score.score:.8f}"),
        "tier": score.tier,
        "factors": score.factors,
        "missing_inputs": score.missing_inputs,
        "index_date": score.index_date,
        "encounter_id": score.encounter_id,
        "source": source,
        "computed_at": score.computed_at,
        "computed_by": actor.user_id,
        "created_at": score.computed_at,
        "updated_at": score.computed_at,
    }


def record_score(
    *, session: Session, tenant_id: uuid.UUID, patient: Patient, score: NewScore, actor: Actor
) -> RiskScore:
    """Store one on-demand score of `patient`, the live record the caller found (with
    `find_patient`) and scored: no second lookup on the latency-bound path."""
    _check(score)
    if patient.tenant_id != tenant_id or patient.id != score.patient_id:
        raise InvalidInput("the score is not about this tenant's patient")
    values = _row(tenant_id, score, "on_demand", actor)
    # A Core insert (one round trip, no unit of work) on this latency-bound path; the row
    # returned is built from the values stored, not tracked by the session.
    session.execute(insert(RiskScore).values(**values))
    row = RiskScore(**values)
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(
            action="risk_score.compute",
            resource_type="risk_score",
            resource_id=row.id,
            patient_id=patient.id,
            detail={"model": score.model, "version": score.model_version, "tier": score.tier},
        ),
    )
    return row


def record_scores(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    scores: Sequence[NewScore],
    actor: Actor,
    source: str = "batch",
) -> int:
    """Store a batch run's scores in bulk, with one audit event per model version."""
    if source not in SOURCES:
        raise InvalidInput(f"source must be one of: {', '.join(SOURCES)}")
    for score in scores:
        _check(score)
    rows = [_row(tenant_id, score, source, actor) for score in scores]
    for start in range(0, len(rows), BATCH_ROWS):
        session.execute(insert(RiskScore), rows[start : start + BATCH_ROWS])
    counts: dict[tuple[str, str], int] = {}
    for score in scores:
        key = (score.model, score.model_version)
        counts[key] = counts.get(key, 0) + 1
    for (model, version), count in sorted(counts.items()):
        record(
            session=session,
            tenant_id=tenant_id,
            actor=actor,
            entry=AuditEntry(
                action="risk_score.batch",
                resource_type="risk_score",
                detail={"model": model, "version": version, "scores": count, "source": source},
            ),
        )
    return len(rows)


def newest_scores(
    *, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID
) -> list[RiskScore]:
    """The newest score of each model for this patient id, by model name. Not audited: for
    callers that audit the read themselves (a CDS hook call)."""
    newest = (
        select(
            RiskScore.id,
            func.row_number()
            .over(
                partition_by=RiskScore.model,
                order_by=(
                    RiskScore.computed_at.desc(),
                    RiskScore.index_date.desc(),
                    RiskScore.id.desc(),
                ),
            )
            .label("rank"),
        )
        .where(RiskScore.tenant_id == tenant_id, RiskScore.patient_id == patient_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(RiskScore)
            .join(newest, newest.c.id == RiskScore.id)
            .where(newest.c.rank == 1)
            .order_by(RiskScore.model)
        )
    )


def current_scores(
    *, session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, actor: Actor
) -> list[RiskScore]:
    """The newest score of each model for a live patient (merged ids resolve to the
    survivor), audited as a chart read."""
    patient = find_patient(session=session, tenant_id=tenant_id, patient_id=patient_id)
    found = newest_scores(session=session, tenant_id=tenant_id, patient_id=patient.id)
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(
            action="risk_score.list",
            resource_type="risk_score",
            patient_id=patient.id,
            detail={"models": [score.model for score in found]},
        ),
    )
    return found
