"""On-demand scoring: a patient's current PostgreSQL record, scored now and stored.

Inputs come from `ml/features/record.py` (the feature marts' definitions applied to one
record), scores from the current registered version of each model, and storage and audit from
`transactional.risk.services`. A model the patient is outside of (a child, no recent stay), or
that lacks an input it cannot do without, is reported as not scored with the reason and the
missing inputs; asked for by name, it is refused (422).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from ml.features.record import NotApplicable, record_unit
from ml.features.spec import MODELS, model_spec
from ml.registry import NotRegistered, Registry
from ml.scoring import Refusal, score_inputs
from transactional.audit.trail import Actor, AuditEntry, Outcome, record
from transactional.errors import InvalidInput
from transactional.patients.registry import find_patient
from transactional.risk.models import RiskScore
from transactional.risk.services import NewScore, record_score


@dataclass(frozen=True)
class NotScored:
    model: str
    reason: str
    missing_inputs: list[str] = field(default_factory=list)


class ScoreRefused(InvalidInput):
    """The model named in the request cannot score this patient; says why and what is
    missing (input names only, never values)."""

    def __init__(self, not_scored: NotScored) -> None:
        missing = (
            f"; missing: {', '.join(not_scored.missing_inputs)}"
            if not_scored.missing_inputs
            else ""
        )
        super().__init__(
            f"{not_scored.model} cannot score this patient: {not_scored.reason}{missing}"
        )
        self.not_scored = not_scored


@dataclass
class OnDemandResult:
    scores: list[RiskScore] = field(default_factory=list)
    not_scored: list[NotScored] = field(default_factory=list)


def score_patient(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    registry: Registry,
    actor: Actor,
    models: Sequence[str] = (),
    at: datetime | None = None,
) -> OnDemandResult:
    """Score the patient with the named models (default: every model) and store the scores.

    Raises NotFound for a patient outside the tenant; ScoreRefused, after auditing the
    refusal and storing nothing, when a named model cannot score; RegistryError (integrity,
    untrusted file) when a registered model is unusable.
    """
    try:
        specs = [model_spec(name) for name in models] if models else list(MODELS.values())
    except KeyError as error:
        raise InvalidInput(str(error.args[0])) from None
    patient = find_patient(session=session, tenant_id=tenant_id, patient_id=patient_id)
    now = at or datetime.now(UTC)
    result = OnDemandResult()
    ready: list[NewScore] = []
    for spec in specs:
        try:
            loaded = registry.load(spec.name)
        except NotRegistered:
            result.not_scored.append(NotScored(spec.name, "no trained version is registered"))
            continue
        try:
            unit = record_unit(
                spec=spec, session=session, tenant_id=tenant_id, patient=patient, at=now
            )
        except NotApplicable as outside:
            result.not_scored.append(NotScored(spec.name, str(outside)))
            continue
        (scored,) = score_inputs(loaded, unit.as_inputs())
        if isinstance(scored, Refusal):
            result.not_scored.append(
                NotScored(spec.name, "required inputs are not recorded", scored.missing_inputs)
            )
            continue
        ready.append(
            NewScore(
                patient_id=patient.id,
                model=spec.name,
                model_version=loaded.version,
                score=scored.score,
                tier=scored.tier,
                factors=scored.factors,
                missing_inputs=scored.missing_inputs,
                index_date=unit.index_date,
                computed_at=now,
                encounter_id=unit.encounter_id,
            )
        )
    if models and result.not_scored:
        refused = result.not_scored[0]
        record(
            session=session,
            tenant_id=tenant_id,
            actor=actor,
            entry=AuditEntry(
                action="risk_score.compute",
                outcome=Outcome.FAILURE,
                resource_type="risk_score",
                patient_id=patient.id,
                detail={"model": refused.model, "missing_inputs": refused.missing_inputs},
            ),
        )
        raise ScoreRefused(refused)
    result.scores = [
        record_score(
            session=session, tenant_id=tenant_id, patient=patient, score=score, actor=actor
        )
        for score in ready
    ]
    return result
