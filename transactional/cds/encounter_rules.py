"""Rules about an encounter (vital-sign alerts, SIRS, qSOFA, NEWS2): evaluated on the
encounter's latest data, each finding kept as at most one open alert per rule and encounter,
addressed to the encounter's practitioner."""

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.alerts.models import ClinicalAlert
from transactional.audit.trail import Actor
from transactional.cds.definitions import Rule, rule_book
from transactional.cds.evaluate import age_on, applies, evaluate, snapshot
from transactional.cds.facts import encounter_data
from transactional.cds.recording import record_finding
from transactional.cds.types import Finding
from transactional.charting.models import Encounter
from transactional.errors import NotFound
from transactional.patients.models import Patient


def _lookback(rules: Sequence[Rule]) -> timedelta:
    minutes = [
        put.window_minutes or rule.window_minutes or 0
        for rule in rules
        for put in rule.inputs.values()
    ]
    return timedelta(minutes=max(minutes, default=0))


def encounter_findings(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    encounter: Encounter,
    rules: Sequence[Rule] | None = None,
) -> list[Finding]:
    """What the encounter rules conclude now, whether or not an alert is raised for it."""
    patient = session.scalar(
        select(Patient).where(Patient.tenant_id == tenant_id, Patient.id == encounter.patient_id)
    )
    if patient is None:
        raise NotFound("patient not found")
    age = age_on(patient.birth_date, encounter.start_at.date())
    chosen = [
        rule
        for rule in (rule_book().encounter_rules if rules is None else rules)
        if applies(rule, age_years=age, encounter_class=encounter.encounter_class)
    ]
    if not chosen:
        return []
    data = encounter_data(
        session,
        tenant_id,
        encounter,
        frozenset().union(*(rule.codes for rule in chosen)),
        results_since=encounter.start_at - _lookback(chosen),
    )
    findings = []
    for rule in chosen:
        finding = evaluate(rule, snapshot(rule, data))
        if finding is not None:
            findings.append(finding)
    return findings


def evaluate_encounter(
    *, session: Session, tenant_id: uuid.UUID, encounter_id: uuid.UUID, actor: Actor
) -> list[ClinicalAlert]:
    """Run the encounter rules and record each finding that raises an alert; returns the
    open alerts that stand for the findings (new or already open)."""
    encounter = session.scalar(
        select(Encounter).where(Encounter.tenant_id == tenant_id, Encounter.id == encounter_id)
    )
    if encounter is None:
        raise NotFound("encounter not found")
    return [
        record_finding(
            session=session,
            tenant_id=tenant_id,
            patient_id=encounter.patient_id,
            finding=finding,
            subject_type="encounter",
            subject_id=encounter.id,
            recipient_practitioner_id=encounter.practitioner_id,
            actor=actor,
        )
        for finding in encounter_findings(session=session, tenant_id=tenant_id, encounter=encounter)
        if finding.raise_alert
    ]
