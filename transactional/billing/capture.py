"""Charge capture: a finished encounter's procedures become priced charges on its invoice.

One charge per completed CPT or HCPCS procedure, priced at fee x units from the fee schedule
of the patient's primary coverage on the service date (else the default schedule), pointing
at up to four of the encounter's ranked ICD-10-CM diagnoses. Capture is idempotent per
procedure: the database holds one charge per procedure, so capturing again adds only what was
charted since. Charges are never deleted; a wrong one is voided with a reason.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.audit.trail import Actor
from transactional.base import utcnow
from transactional.billing.audit_events import audit
from transactional.billing.coverage import primary_coverage
from transactional.billing.fee_schedules import BILLABLE_SYSTEMS, price_for
from transactional.billing.invoices import charges_of, find_invoice, has_money, reason_text
from transactional.billing.models import Charge, Claim, Invoice
from transactional.billing.types import ChargeStatus, InvoiceStatus
from transactional.charting.codes import ICD10CM
from transactional.charting.conditions import conditions_of
from transactional.charting.models import Condition, Encounter
from transactional.charting.procedures import procedures_of_encounter
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.patients.models import Coverage
from transactional.providers.models import Location, Practitioner

MAX_POINTERS = 4
_NOT_POINTABLE = ("refuted", "entered_in_error")


@dataclass(frozen=True)
class DiagnosisPointers:
    """Which of the encounter's diagnoses (by rank) a procedure's charge points at."""

    procedure_id: uuid.UUID
    ranks: tuple[int, ...]


@dataclass(frozen=True)
class Captured:
    invoice: Invoice
    charges: list[Charge]
    created: list[Charge]
    not_billable: list[uuid.UUID]


def _locked_encounter(session: Session, tenant_id: uuid.UUID, encounter_id: uuid.UUID) -> Encounter:
    """Row-locked, so two captures of one encounter run one after the other."""
    encounter = session.scalar(
        select(Encounter)
        .where(Encounter.tenant_id == tenant_id, Encounter.id == encounter_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if encounter is None:
        raise NotFound("encounter not found")
    if encounter.status != "finished":
        raise Conflict(
            f"charges are captured from finished encounters; this one is {encounter.status}"
        )
    return encounter


def _ranked_diagnoses(
    session: Session, tenant_id: uuid.UUID, encounter_id: uuid.UUID
) -> dict[int, list[Condition]]:
    ranked: dict[int, list[Condition]] = {}
    for condition in conditions_of(
        session=session,
        tenant_id=tenant_id,
        encounter_id=encounter_id,
        category="encounter_diagnosis",
    ):
        if (
            condition.rank is not None
            and condition.code_system == ICD10CM
            and condition.verification_status not in _NOT_POINTABLE
        ):
            ranked.setdefault(condition.rank, []).append(condition)
    return ranked


def _pointed(ranked: dict[int, list[Condition]], ranks: tuple[int, ...] | None) -> list[Condition]:
    chosen = sorted(ranked)[:MAX_POINTERS] if ranks is None else list(ranks)
    if not chosen:
        raise InvalidInput(
            "a charge needs at least one diagnosis pointer: rank the encounter's ICD-10-CM "
            "diagnoses or name their ranks"
        )
    if len(chosen) > MAX_POINTERS or len(set(chosen)) != len(chosen):
        raise InvalidInput(f"a charge points at 1 to {MAX_POINTERS} distinct diagnoses")
    conditions = []
    for rank in chosen:
        found = ranked.get(rank, [])
        if not found:
            raise InvalidInput(
                f"diagnosis pointer {rank} names no ranked ICD-10-CM diagnosis of this encounter"
            )
        if len(found) > 1:
            raise InvalidInput(f"two diagnoses of this encounter share rank {rank}")
        conditions.append(found[0])
    return conditions


def _time_zone(session: Session, tenant_id: uuid.UUID, location_id: uuid.UUID | None) -> ZoneInfo:
    name = None
    if location_id is not None:
        name = session.scalar(
            select(Location.time_zone).where(
                Location.tenant_id == tenant_id, Location.id == location_id
            )
        )
    return ZoneInfo(name or "UTC")


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The date of service is the calendar date where the care happened."""
    return instant.astimezone(zone).date()


def capture_charges(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    encounter_id: uuid.UUID,
    actor: Actor,
    pointers: Sequence[DiagnosisPointers] = (),
) -> Captured:
    """Charge every completed CPT/HCPCS procedure of a finished encounter not charged yet.

    `pointers` overrides the default (the encounter's diagnoses ranked 1 to 4) per procedure.
    All or nothing: one procedure without a price or a diagnosis refuses the whole capture.
    """
    encounter = _locked_encounter(session, tenant_id, encounter_id)
    invoice = session.scalar(
        select(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.encounter_id == encounter.id)
    )
    if invoice is not None:
        invoice = find_invoice(session, tenant_id, invoice.id, for_update=True)
        if invoice.status == InvoiceStatus.VOID:
            raise Conflict("the invoice of this encounter is void")
    completed = [
        p
        for p in procedures_of_encounter(
            session=session, tenant_id=tenant_id, encounter_id=encounter.id
        )
        if p.status == "completed"
    ]
    not_billable = [p.id for p in completed if p.code_system not in BILLABLE_SYSTEMS]
    charged = set(
        session.scalars(
            select(Charge.procedure_id).where(
                Charge.tenant_id == tenant_id, Charge.encounter_id == encounter.id
            )
        )
    )
    new = [p for p in completed if p.code_system in BILLABLE_SYSTEMS and p.id not in charged]
    given = {pointer.procedure_id: pointer.ranks for pointer in pointers}
    if len(given) != len(pointers):
        raise InvalidInput("diagnosis pointers name a procedure twice")
    if set(given) - {p.id for p in new}:
        raise InvalidInput(
            "diagnosis pointers name a procedure that is not an uncharged CPT or HCPCS "
            "procedure of this encounter"
        )
    if not new:
        if invoice is None:
            raise InvalidInput("the encounter has no completed CPT or HCPCS procedure to charge")
        return Captured(invoice, charges_of(session, tenant_id, [invoice.id]), [], not_billable)
    if invoice is not None and session.scalar(
        select(Claim.id).where(Claim.tenant_id == tenant_id, Claim.invoice_id == invoice.id)
    ):
        raise Conflict("this invoice was already claimed; bill late charges on a new encounter")

    ranked = _ranked_diagnoses(session, tenant_id, encounter.id)
    zone = _time_zone(session, tenant_id, encounter.location_id)
    coverages: dict[date, Coverage | None] = {}
    now = utcnow()
    created = []
    for procedure in new:
        diagnoses = _pointed(ranked, given.get(procedure.id))
        served = local_date(procedure.performed_at, zone)
        if served not in coverages:
            coverages[served] = primary_coverage(
                session=session, tenant_id=tenant_id, patient_id=encounter.patient_id, on=served
            )
        coverage = coverages[served]
        price = price_for(
            session=session,
            tenant_id=tenant_id,
            payer_id=coverage.payer_id if coverage is not None else None,
            system=procedure.code_system,
            code=procedure.code,
            on=served,
        )
        if price is None:
            raise InvalidInput(
                f"no fee schedule in effect on {served.isoformat()} prices {procedure.code}"
            )
        rendering = procedure.performer_id or encounter.practitioner_id
        ids = [d.id for d in diagnoses] + [None] * (MAX_POINTERS - len(diagnoses))
        created.append(
            Charge(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                patient_id=encounter.patient_id,
                encounter_id=encounter.id,
                procedure_id=procedure.id,
                code_system=procedure.code_system,
                code=procedure.code,
                modifiers=procedure.modifiers,
                units=procedure.units,
                service_date=served,
                rendering_practitioner_id=rendering,
                location_id=encounter.location_id,
                department_id=session.scalar(
                    select(Practitioner.department_id).where(
                        Practitioner.tenant_id == tenant_id, Practitioner.id == rendering
                    )
                ),
                fee_schedule_id=price.fee_schedule_id,
                unit_price_cents=price.unit_price_cents,
                amount_cents=price.unit_price_cents * procedure.units,
                diagnosis1_id=ids[0],
                diagnosis2_id=ids[1],
                diagnosis3_id=ids[2],
                diagnosis4_id=ids[3],
                status=ChargeStatus.ACTIVE.value,
                posted_at=now,
                posted_by=actor.user_id,
            )
        )
    if invoice is None:
        first_day = local_date(encounter.start_at, zone)
        if first_day not in coverages:
            coverages[first_day] = primary_coverage(
                session=session, tenant_id=tenant_id, patient_id=encounter.patient_id, on=first_day
            )
        first = coverages[first_day]
        invoice = Invoice(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            patient_id=encounter.patient_id,
            encounter_id=encounter.id,
            coverage_id=first.id if first is not None else None,
            service_date=min([first_day, *(c.service_date for c in created)]),
        )
        session.add(invoice)
        session.flush()
    for charge in created:
        charge.invoice_id = invoice.id
    session.add_all(created)
    session.flush()
    session.refresh(invoice)
    audit(
        session,
        actor,
        tenant_id=tenant_id,
        action="charge.capture",
        resource_type="invoice",
        resource_id=invoice.id,
        patient_id=invoice.patient_id,
        encounter_id=str(encounter.id),
        charges=len(created),
    )
    return Captured(invoice, charges_of(session, tenant_id, [invoice.id]), created, not_billable)


def void_charge(
    *, session: Session, tenant_id: uuid.UUID, charge_id: uuid.UUID, reason: str, actor: Actor
) -> Charge:
    """Void a wrong charge before anything happened on its invoice; the row stays."""
    reason = reason_text(reason)
    charge = session.scalar(
        select(Charge).where(Charge.tenant_id == tenant_id, Charge.id == charge_id)
    )
    if charge is None:
        raise NotFound("charge not found")
    invoice = find_invoice(session, tenant_id, charge.invoice_id, for_update=True)
    session.refresh(charge)
    if charge.status == ChargeStatus.VOID:
        raise Conflict("the charge is already void")
    if has_money(invoice):
        raise Conflict("money was posted to this invoice; its charges can no longer be voided")
    if session.scalar(
        select(Claim.id).where(Claim.tenant_id == tenant_id, Claim.invoice_id == invoice.id)
    ):
        raise Conflict("this invoice was claimed; its charges can no longer be voided")
    charge.status = ChargeStatus.VOID.value
    charge.void_reason, charge.voided_at, charge.voided_by = reason, utcnow(), actor.user_id
    session.flush()
    session.refresh(invoice)
    audit(
        session,
        actor,
        tenant_id=tenant_id,
        action="charge.void",
        resource_type="charge",
        resource_id=charge.id,
        patient_id=charge.patient_id,
    )
    return charge
