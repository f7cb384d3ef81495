"""Drug-gene rules (CPIC): a prescribed drug against the patient's phenotype results.

They run when a prescription is signed, when a phenotype result arrives for a patient
already taking the drug, and on draft orders for the CDS Hooks order-select service (which
records nothing). An alert is about the prescription and goes to its prescriber; it does not
block signing, which stays the decision of the prescribing check's critical findings.
"""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from transactional.alerts.models import ClinicalAlert
from transactional.audit.trail import Actor
from transactional.cds.definitions import DrugGene, Rule, rule_book
from transactional.cds.evaluate import evaluate_drug_gene, snapshot
from transactional.cds.facts import result_data
from transactional.cds.recording import record_finding
from transactional.cds.types import Finding
from transactional.medications.medication_list import current_medications
from transactional.medications.models import Prescription


@dataclass(frozen=True)
class DrugOrder:
    """A drug about to be ordered: `reference` names it to the caller (e.g. a FHIR id)."""

    reference: str
    label: str
    ingredients: tuple[str, ...]


def _rules(ingredients: Collection[str] | None = None) -> list[Rule]:
    return [
        rule
        for rule in rule_book().drug_gene_rules
        if isinstance(rule.logic, DrugGene)
        and (ingredients is None or rule.logic.ingredients & set(ingredients))
    ]


def _findings(
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    rules: Sequence[Rule],
    ingredients: Sequence[str],
    label: str,
) -> list[Finding]:
    found = []
    for rule in rules:
        facts = snapshot(rule, result_data(session, tenant_id, patient_id, rule.codes))
        finding = evaluate_drug_gene(rule, ingredients=ingredients, facts=facts, drug_label=label)
        if finding is not None:
            found.append(finding)
    return found


def _record(
    session: Session, prescription: Prescription, findings: Sequence[Finding], actor: Actor
) -> list[ClinicalAlert]:
    return [
        record_finding(
            session=session,
            tenant_id=prescription.tenant_id,
            patient_id=prescription.patient_id,
            finding=finding,
            subject_type="prescription",
            subject_id=prescription.id,
            recipient_practitioner_id=prescription.prescriber_id,
            actor=actor,
        )
        for finding in findings
    ]


def prescription_alerts(
    *, session: Session, prescription: Prescription, actor: Actor
) -> list[ClinicalAlert]:
    """At signing: the drug-gene alerts of this prescription."""
    rules = _rules(prescription.ingredient_codes)
    if not rules:
        return []
    findings = _findings(
        session,
        prescription.tenant_id,
        prescription.patient_id,
        rules,
        prescription.ingredient_codes,
        prescription.medication_display,
    )
    return _record(session, prescription, findings, actor)


def phenotype_alerts(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    codes: Collection[str],
    actor: Actor,
) -> list[ClinicalAlert]:
    """After results of `codes` were recorded: the drug-gene alerts of the patient's current
    medications whose rules read one of those results."""
    rules = [rule for rule in _rules() if rule.codes & set(codes)]
    if not rules:
        return []
    alerts = []
    for prescription in current_medications(session, tenant_id, patient_id):
        findings = _findings(
            session,
            tenant_id,
            patient_id,
            rules,
            prescription.ingredient_codes,
            prescription.medication_display,
        )
        alerts.extend(_record(session, prescription, findings, actor))
    return alerts


def draft_findings(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    orders: Sequence[DrugOrder],
) -> list[tuple[DrugOrder, Finding]]:
    """What the drug-gene rules say about drugs not yet ordered; nothing is recorded."""
    found = []
    for order in orders:
        rules = _rules(order.ingredients)
        for finding in _findings(
            session, tenant_id, patient_id, rules, order.ingredients, order.label
        ):
            found.append((order, finding))
    return found
