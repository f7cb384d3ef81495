"""Card sources: each one turns what it knows about a patient into cards for a hook call.

A source is anything with a `name` and a `cards(...)` method (the `CardSource` protocol), so
a new source is added by writing the class and listing it in a service of `services.py`; the
rules engine and the other sources do not change. Sources read; they never record alerts.
Care-gap reminders from the population-health marts arrive as open alerts (see
`care_gaps.py`), so `OpenAlerts` shows them.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ml.features.spec import MODELS
from transactional.alerts.models import ClinicalAlert
from transactional.cds.cards import (
    alert_card,
    check_card,
    finding_card,
    key,
    remove_order,
    risk_card,
    unchecked_card,
)
from transactional.cds.encounter_rules import encounter_findings
from transactional.cds.pharmacogenomics import DrugOrder, draft_findings
from transactional.cds.types import Card, DraftMedication
from transactional.charting.models import Encounter
from transactional.medications.checks import ActiveMedication, check
from transactional.medications.knowledge import Medication, knowledge_base
from transactional.medications.medication_list import allergy_facts, medication_facts
from transactional.patients.models import Patient
from transactional.risk.services import newest_scores
from transactional.terminology.systems import CodeSystem, find_system

OPEN_ALERTS_SHOWN = 50


@dataclass(frozen=True)
class HookContext:
    """A hook call as decision support needs it. `drafts` are the draft medication orders;
    `selections` the references of those just selected (order-select)."""

    hook: str
    hook_instance: str
    patient_id: uuid.UUID
    user_reference: str
    encounter_id: uuid.UUID | None = None
    drafts: tuple[DraftMedication, ...] = ()
    selections: tuple[str, ...] = ()

    @property
    def selected(self) -> list[DraftMedication]:
        return [d for d in self.drafts if d.reference in self.selections]


class CardSource(Protocol):
    name: str

    def cards(
        self, *, session: Session, tenant_id: uuid.UUID, patient: Patient, context: HookContext
    ) -> Sequence[Card]: ...


class OpenAlerts:
    """The patient's open alerts, from every decision-support source, most severe first."""

    name = "open_alerts"

    def cards(
        self, *, session: Session, tenant_id: uuid.UUID, patient: Patient, context: HookContext
    ) -> list[Card]:
        rows = session.scalars(
            select(ClinicalAlert)
            .where(
                ClinicalAlert.tenant_id == tenant_id,
                ClinicalAlert.patient_id == patient.id,
                ClinicalAlert.status == "open",
            )
            .order_by(ClinicalAlert.created_at.desc(), ClinicalAlert.id)
            .limit(OPEN_ALERTS_SHOWN)
        )
        return [alert_card(row) for row in rows]


class EncounterRules:
    """The encounter rules on the current data of the encounter in context, or of the
    patient's latest encounter in progress; findings below alerting (a low NEWS2) too."""

    name = "encounter_rules"

    def cards(
        self, *, session: Session, tenant_id: uuid.UUID, patient: Patient, context: HookContext
    ) -> list[Card]:
        query = select(Encounter).where(
            Encounter.tenant_id == tenant_id, Encounter.patient_id == patient.id
        )
        if context.encounter_id is not None:
            query = query.where(Encounter.id == context.encounter_id)
        else:
            query = query.where(Encounter.status == "in_progress")
        encounter = session.scalar(query.order_by(Encounter.start_at.desc()).limit(1))
        if encounter is None:
            return []
        return [
            finding_card(finding, card_key=key(finding.kind, "encounter", encounter.id))
            for finding in encounter_findings(
                session=session, tenant_id=tenant_id, encounter=encounter
            )
        ]


def _medication(draft: DraftMedication) -> Medication | str:
    """The knowledge base's drug for a draft, or why there is none."""
    rxnorm = [c for c in draft.codings if find_system(c[0]) == CodeSystem.RXNORM]
    if not rxnorm:
        return "the order has no RxNorm coding"
    kb = knowledge_base()
    for _, code, _ in rxnorm:
        medication = kb.medication(code)
        if medication is not None:
            return medication
    return f"RxNorm {rxnorm[0][1][:20]} is not in the medication knowledge base"


class PrescribingChecks:
    """Interactions, allergy conflicts and duplicate therapy for each selected draft, against
    the current medications, the active allergies and the other drafts."""

    name = "prescribing_checks"

    def cards(
        self, *, session: Session, tenant_id: uuid.UUID, patient: Patient, context: HookContext
    ) -> list[Card]:
        resolved = {d.reference: _medication(d) for d in context.drafts}
        active = medication_facts(session, tenant_id, patient.id)
        allergies = allergy_facts(session, tenant_id, patient.id)
        kb = knowledge_base()
        cards = []
        for draft in context.selected:
            candidate = resolved[draft.reference]
            if isinstance(candidate, str):
                cards.append(unchecked_card(draft.reference, candidate))
                continue
            others = [
                ActiveMedication(code=m.code, display=m.display, ingredients=m.ingredients)
                for reference, m in resolved.items()
                if reference != draft.reference and isinstance(m, Medication)
            ]
            findings = check(
                candidate=candidate, active=[*active, *others], allergies=allergies, knowledge=kb
            )
            cards.extend(check_card(f, reference=draft.reference) for f in findings)
        return cards


class DrugGeneRules:
    """Drug-gene (CPIC) rules for each selected draft, against the patient's phenotypes."""

    name = "drug_gene_rules"

    def cards(
        self, *, session: Session, tenant_id: uuid.UUID, patient: Patient, context: HookContext
    ) -> list[Card]:
        orders = []
        for draft in context.selected:
            medication = _medication(draft)
            if isinstance(medication, Medication):
                orders.append(
                    DrugOrder(draft.reference, medication.display, medication.ingredients)
                )
        return [
            finding_card(
                finding,
                card_key=key(finding.kind, "draft", order.reference),
                suggestions=(remove_order(order.reference, order.label),),
            )
            for order, finding in draft_findings(
                session=session, tenant_id=tenant_id, patient_id=patient.id, orders=orders
            )
        ]


class RiskScores:
    """The newest score of each risk model for the patient, as written back by the scoring
    job or computed on demand; high and medium tiers only."""

    name = "risk_scores"

    def cards(
        self, *, session: Session, tenant_id: uuid.UUID, patient: Patient, context: HookContext
    ) -> list[Card]:
        cards = []
        for score in newest_scores(session=session, tenant_id=tenant_id, patient_id=patient.id):
            spec = MODELS.get(score.model)
            card = risk_card(score, title=spec.title if spec else score.model)
            if card is not None:
                cards.append(card)
        return cards
