"""Where the write paths call decision support, inside their own transaction: recording
vital signs, recording laboratory results and signing a prescription each run the rules
their new data can change, so an alert commits (or rolls back) with the data it is about."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.alerts.models import ClinicalAlert
from transactional.audit.trail import Actor
from transactional.cds.definitions import rule_book
from transactional.cds.encounter_rules import evaluate_encounter
from transactional.cds.pharmacogenomics import phenotype_alerts, prescription_alerts
from transactional.charting.models import Encounter, Observation
from transactional.medications.models import Prescription
from transactional.orders.models import LabResult, Order


def after_vitals(
    *, session: Session, encounter: Encounter, observations: Sequence[Observation], actor: Actor
) -> list[ClinicalAlert]:
    codes = {o.code for o in observations}
    if not any(rule.codes & codes for rule in rule_book().encounter_rules):
        return []
    return evaluate_encounter(
        session=session, tenant_id=encounter.tenant_id, encounter_id=encounter.id, actor=actor
    )


def after_results(
    *, session: Session, order: Order, results: Sequence[LabResult], actor: Actor
) -> list[ClinicalAlert]:
    """Encounter rules that read a laboratory value (SIRS) for the order's encounter while
    it is in progress, and drug-gene rules for a new phenotype."""
    codes = {r.code for r in results}
    alerts = phenotype_alerts(
        session=session,
        tenant_id=order.tenant_id,
        patient_id=order.patient_id,
        codes=codes,
        actor=actor,
    )
    if order.encounter_id is None or not any(
        rule.codes & codes for rule in rule_book().encounter_rules
    ):
        return alerts
    status = session.scalar(
        select(Encounter.status).where(
            Encounter.tenant_id == order.tenant_id, Encounter.id == order.encounter_id
        )
    )
    if status != "in_progress":
        return alerts
    return alerts + evaluate_encounter(
        session=session, tenant_id=order.tenant_id, encounter_id=order.encounter_id, actor=actor
    )


def after_signing(
    *, session: Session, prescription: Prescription, actor: Actor
) -> list[ClinicalAlert]:
    return prescription_alerts(session=session, prescription=prescription, actor=actor)
