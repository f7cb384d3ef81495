"""A patient's risk scores: the current one of each model, and scoring on demand."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.deps import Principal, ServicesDep, SessionDep, require
from api.problems import Problem
from api.schemas.risk_scores import (
    NotScoredOut,
    RiskScoreComputation,
    RiskScoreList,
    RiskScoreOut,
)
from ml.online import ScoreRefused, score_patient
from ml.registry import Registry, RegistryError
from transactional.identity.roles import Permission
from transactional.risk.models import RiskScore
from transactional.risk.services import current_scores

router = APIRouter(prefix="/api/v1", tags=["risk scores"])

Reader = Annotated[Principal, Depends(require(Permission.CHART_READ))]
Writer = Annotated[Principal, Depends(require(Permission.CHART_WRITE))]


def score_out(row: RiskScore) -> RiskScoreOut:
    return RiskScoreOut(
        model=row.model,
        version=row.model_version,
        score=float(row.score),
        tier=row.tier,
        factors=row.factors,
        computed_at=row.computed_at,
        missing_inputs=row.missing_inputs,
        index_date=row.index_date,
        encounter_id=row.encounter_id,
        source=row.source,
    )


@router.get("/patients/{patient_id}/risk-scores", response_model=RiskScoreList)
def list_risk_scores(
    patient_id: uuid.UUID, principal: Reader, session: SessionDep
) -> RiskScoreList:
    found = current_scores(
        session=session, tenant_id=principal.tenant_id, patient_id=patient_id, actor=principal.actor
    )
    return RiskScoreList(items=[score_out(row) for row in found])


@router.post(
    "/patients/{patient_id}/risk-scores",
    response_model=RiskScoreComputation,
    status_code=status.HTTP_201_CREATED,
)
def compute_risk_scores(
    patient_id: uuid.UUID,
    principal: Writer,
    session: SessionDep,
    services: ServicesDep,
    model: Annotated[
        list[str] | None, Query(description="Models to score; default: every model")
    ] = None,
) -> RiskScoreComputation:
    """Score the patient's current record now and store the scores."""
    try:
        result = score_patient(
            session=session,
            tenant_id=principal.tenant_id,
            patient_id=patient_id,
            registry=Registry.from_settings(services.settings),
            actor=principal.actor,
            models=model or (),
        )
    except ScoreRefused as refused:
        raise Problem(
            422,
            "risk-score-refused",
            str(refused),
            title="Cannot score",
            extra={"missing_inputs": refused.not_scored.missing_inputs},
            keep_writes=True,  # the audit event of the refusal; no score was stored
        ) from None
    except RegistryError as unusable:
        raise Problem(503, "model-unavailable", str(unusable), title="Model unavailable") from None
    return RiskScoreComputation(
        items=[score_out(row) for row in result.scores],
        not_scored=[
            NotScoredOut(model=n.model, reason=n.reason, missing_inputs=n.missing_inputs)
            for n in result.not_scored
        ],
    )
