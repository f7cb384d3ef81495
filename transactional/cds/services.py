"""The CDS Hooks services this EMR offers, and running one for a hook call.

A service is a hook plus the card sources that answer it. Running one checks the patient
(another tenant's is not found), collects the cards of every source, keeps one card per
subject (the most urgent; on a tie the first source's, so an open alert wins over the same
finding evaluated again), orders them critical first and audits the read once.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor, AuditEntry, record
from transactional.cds.sources import (
    CardSource,
    DrugGeneRules,
    EncounterRules,
    HookContext,
    OpenAlerts,
    PrescribingChecks,
    RiskScores,
)
from transactional.cds.types import SEVERITY_RANK, Card
from transactional.charting.models import Encounter
from transactional.errors import InvalidInput, NotFound
from transactional.patients.registry import find_patient

PATIENT_VIEW, ORDER_SELECT = "patient-view", "order-select"


@dataclass(frozen=True)
class HookService:
    id: str
    hook: str
    title: str
    description: str
    sources: tuple[CardSource, ...]


@cache
def catalog() -> tuple[HookService, ...]:
    return (
        HookService(
            id="patient-alerts",
            hook=PATIENT_VIEW,
            title="Clinical alerts, early-warning rules and risk scores",
            description=(
                "Open clinical alerts (critical results, vital-sign rules, pharmacogenomics, "
                "care-gap reminders), the vital-sign rules (hypertensive crisis, SIRS, qSOFA, "
                "NEWS2) on the current encounter's latest data, and high or medium risk "
                "scores of the risk models."
            ),
            sources=(OpenAlerts(), EncounterRules(), RiskScores()),
        ),
        HookService(
            id="medication-safety",
            hook=ORDER_SELECT,
            title="Medication safety checks",
            description=(
                "Drug-drug interactions, allergy conflicts, duplicate therapy and "
                "pharmacogenomic (CPIC) rules for the selected draft medication orders."
            ),
            sources=(PrescribingChecks(), DrugGeneRules()),
        ),
    )


def find_service(service_id: str) -> HookService:
    for service in catalog():
        if service.id == service_id:
            return service
    raise NotFound("CDS service not found")


def _check(
    session: Session, tenant_id: uuid.UUID, patient_id: uuid.UUID, context: HookContext
) -> None:
    if context.encounter_id is not None:
        encounter = session.scalar(
            select(Encounter.patient_id).where(
                Encounter.tenant_id == tenant_id, Encounter.id == context.encounter_id
            )
        )
        if encounter != patient_id:
            raise NotFound("encounter not found")
    references = {d.reference for d in context.drafts}
    if len(references) != len(context.drafts):
        raise InvalidInput("each draft order needs its own id")
    unknown = [s for s in context.selections if s not in references]
    if unknown:
        raise InvalidInput("every selection must name a MedicationRequest in draftOrders")


def _deduplicated(cards: Sequence[Card]) -> list[Card]:
    kept: dict[str, Card] = {}
    for card in cards:
        current = kept.get(card.key)
        if current is None or SEVERITY_RANK[card.indicator] > SEVERITY_RANK[current.indicator]:
            kept[card.key] = card
    return sorted(kept.values(), key=lambda c: -SEVERITY_RANK[c.indicator])


def run_service(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    service: HookService,
    context: HookContext,
    actor: Actor,
) -> list[Card]:
    if context.hook != service.hook:
        raise InvalidInput(f"service {service.id} answers the {service.hook} hook")
    patient = find_patient(session=session, tenant_id=tenant_id, patient_id=context.patient_id)
    _check(session, tenant_id, patient.id, context)
    cards = _deduplicated(
        [
            card
            for source in service.sources
            for card in source.cards(
                session=session, tenant_id=tenant_id, patient=patient, context=context
            )
        ]
    )
    record(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        entry=AuditEntry(
            action="cds.hook",
            resource_type="cds_service",
            resource_id=service.id,
            patient_id=patient.id,
            detail={
                "hook": service.hook,
                "hook_instance": context.hook_instance,
                "user": context.user_reference,
                "cards": len(cards),
            },
        ),
    )
    return cards
