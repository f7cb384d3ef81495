"""claims.csv and claims_transactions.csv -> invoices, charges, claims, payments, adjustments.

An encounter's claims share its invoice (one per encounter, as charge capture makes them).
Each claim to an insurer becomes one claim to the patient's coverage of that payer on the
date of service; a claim without insurance bills the patient on the invoice and makes no
claim. Each CHARGE becomes an imported charge, priced and coded as Synthea billed it (SNOMED
CT, RxNorm or CVX) and never from a fee schedule, and a line of its claim. The money that
follows a charge keeps the ledger's rules and every balance reconciles, charges - payments -
adjustments:

- a PAYMENT while a payer holds the line is that payer's payment of its claim; one while
  the patient holds it, and every COPAY, is the patient's payment of the invoice;
- a COPAY on a payer's line is first assigned to the patient (PR-3) on that payer's claim;
- a TRANSFEROUT/TRANSFERIN pair passes what is left to the patient or to the secondary
  payer: the holding payer assigns it to the patient (PR-2 if it paid part of the line,
  PR-96 if it paid none), and a transfer to the secondary payer puts the line on a
  secondary claim to the patient's secondary coverage, which then pays it;
- an ADJUSTMENT reduces what is owed (CO-45), on the holding payer's claim if any.

No payment exceeds what its line, its claim or its invoice still owes. Claims keep
Synthea's status (BILLED: submitted, CLOSED: paid) and record an `import` event.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, select

from transactional.billing.claims import PLACE_OF_SERVICE
from transactional.billing.models import (
    Adjustment,
    Charge,
    Claim,
    ClaimDiagnosis,
    ClaimEvent,
    ClaimLine,
    Invoice,
    Payment,
)
from transactional.billing.money import format_cents
from transactional.billing.reason_codes import Reason, reason
from transactional.billing.types import AdjustmentKind, ClaimAction, ClaimStatus
from transactional.lineage import SYNTHEA
from transactional.synthea.batch import Batch, each
from transactional.synthea.mappings import PAYMENT_METHODS
from transactional.synthea.source import (
    RowError,
    SourceRow,
    coded,
    parse_cents,
    parse_count,
    parse_instant,
    parse_uuid,
)
from transactional.synthea.state import ConditionRef, CoverageRef, EncounterRef, PatientRef
from transactional.synthea.writer import Unit
from transactional.terminology.catalog import Concept, lookup
from transactional.terminology.systems import CodeSystem

INVOICES: Table = Invoice.__table__  # type: ignore[assignment]
CHARGES: Table = Charge.__table__  # type: ignore[assignment]
CLAIMS: Table = Claim.__table__  # type: ignore[assignment]
CLAIM_DIAGNOSES: Table = ClaimDiagnosis.__table__  # type: ignore[assignment]
CLAIM_EVENTS: Table = ClaimEvent.__table__  # type: ignore[assignment]
CLAIM_LINES: Table = ClaimLine.__table__  # type: ignore[assignment]
PAYMENTS: Table = Payment.__table__  # type: ignore[assignment]
ADJUSTMENTS: Table = Adjustment.__table__  # type: ignore[assignment]
ORDER = (
    INVOICES,
    CLAIMS,
    CLAIM_DIAGNOSES,
    CLAIM_EVENTS,
    CHARGES,
    CLAIM_LINES,
    ADJUSTMENTS,
    PAYMENTS,
)

CLAIM_COLUMNS = (
    "Id",
    "PATIENTID",
    "PROVIDERID",
    "PRIMARYPATIENTINSURANCEID",
    "SECONDARYPATIENTINSURANCEID",
    "APPOINTMENTID",
    "SERVICEDATE",
    "DIAGNOSIS1",
)
TRANSACTION_COLUMNS = ("ID", "CLAIMID", "CHARGEID", "PATIENTID", "TYPE", "FROMDATE", "TODATE")
CLAIMS_FILE, TRANSACTIONS_FILE = "claims.csv", "claims_transactions.csv"
STATUSES = {"BILLED": ClaimStatus.SUBMITTED, "CLOSED": ClaimStatus.PAID}
MAX_LINES = 50
PRIMARY, SECONDARY, PATIENT = "primary", "secondary", "patient"
HOLDERS = {"1": PRIMARY, "2": SECONDARY, "p": PATIENT}


@dataclass
class InvoiceState:
    id: uuid.UUID
    made_by: Unit | None
    charges: int = 0
    payments: int = 0
    adjustments: int = 0
    responsibility: int = 0

    @property
    def balance(self) -> int:
        return self.charges - self.payments - self.adjustments


@dataclass
class ClaimState:
    id: uuid.UUID
    coverage: CoverageRef
    status: ClaimStatus
    lines: list[dict[str, Any]] = field(default_factory=list)
    settled: int = 0  # paid, adjusted or passed to the patient

    @property
    def total(self) -> int:
        return sum(line["amount_cents"] for line in self.lines)


@dataclass
class LineState:
    unit: Unit
    charge_id: uuid.UUID
    amount: int
    pointers: list[int]
    service_date: date
    code: Concept
    units: int
    holder: str
    outstanding: int
    holder_paid: bool = False


@dataclass
class Work:
    """One claim being imported with its transactions."""

    batch: Batch
    row: SourceRow
    unit: Unit
    patient: PatientRef
    encounter: EncounterRef
    invoice: InvoiceState
    rendering: uuid.UUID
    department_id: uuid.UUID | None
    diagnoses: list[tuple[int, Concept, ConditionRef | None]]
    pointers: dict[int, int]
    primary: ClaimState | None
    secondary_coverage: CoverageRef | None
    secondary_status: ClaimStatus
    secondary: ClaimState | None = None
    current: LineState | None = None
    failed_charge: int | None = None
    transfers: dict[str, tuple[Unit, int, LineState]] = field(default_factory=dict)
    failed_transfers: dict[str, int] = field(default_factory=dict)
    excess: list[int] = field(default_factory=list)

    def claim_of(self, holder: str) -> ClaimState | None:
        return (
            self.primary if holder == PRIMARY else self.secondary if holder == SECONDARY else None
        )


_PR_COPAY = reason("PR", "3")
_PR_COINSURANCE = reason("PR", "2")
_PR_NOT_COVERED = reason("PR", "96")
_CO_CONTRACTUAL = reason("CO", "45")


def import_billing(
    claims: Batch,
    transactions: Batch,
    claim_rows: list[SourceRow],
    transaction_rows: list[SourceRow],
) -> None:
    """Both files in one step: a claim's lines and money are its transactions."""
    state = claims.state
    by_claim: dict[str, list[tuple[int, SourceRow]]] = defaultdict(list)
    for row in transaction_rows:
        try:
            claim_key = parse_uuid(row, "CLAIMID")
            sequence = parse_count(row, "CHARGEID", 0, 10**9)
        except RowError as error:
            transactions.report.fail(TRANSACTIONS_FILE, row.line, str(error))
            continue
        by_claim[claim_key].append((sequence, row))
    invoices = _invoices(claims)
    seen: set[str] = set()
    excess: list[int] = []

    def handle(row: SourceRow, key: str) -> None:
        work = _claim(claims, row, key, invoices)
        for _, transaction in sorted(by_claim.pop(key, []), key=lambda item: item[0]):
            _transaction(work, transactions, transaction, seen)
        _finish(work)
        excess.extend(work.excess)

    def present(row: SourceRow, key: str) -> None:
        for _, transaction in by_claim.pop(key, []):
            try:
                tx_key = _transaction_key(transaction, seen)
            except RowError as error:
                transactions.report.fail(TRANSACTIONS_FILE, transaction.line, str(error))
                continue
            if state.present(TRANSACTIONS_FILE, tx_key):
                transactions.summary.present += 1
            else:
                transactions.report.fail(
                    TRANSACTIONS_FILE,
                    transaction.line,
                    "its claim was imported earlier without it; a claim's money is imported "
                    "with the claim",
                )

    each(claims, claim_rows, lambda row: parse_uuid(row, "Id"), handle, present)
    if excess:
        note = (
            "amounts above what their charge still owed, recorded up to it "
            f"({format_cents(sum(excess))} in all left out, as Synthea's OUTSTANDING does)"
        )
        transactions.summary.notes[note] += len(excess)
    for claim_key, orphans in by_claim.items():
        for _, transaction in orphans:
            missing = state.missing(CLAIMS_FILE, claim_key, "CLAIMID")
            transactions.report.fail(TRANSACTIONS_FILE, transaction.line, str(missing))


def _invoices(batch: Batch) -> dict[uuid.UUID, InvoiceState]:
    """The invoices imported encounters already have, with their totals."""
    encounter_ids = [ref.id for ref in batch.state.encounters.values()]
    found: dict[uuid.UUID, InvoiceState] = {}
    for invoice in batch.session.scalars(
        select(Invoice).where(
            Invoice.tenant_id == batch.tenant_id, Invoice.encounter_id.in_(encounter_ids)
        )
    ):
        found[invoice.encounter_id] = InvoiceState(
            invoice.id,
            None,
            invoice.charges_cents,
            invoice.payments_cents,
            invoice.adjustments_cents,
            invoice.patient_responsibility_cents,
        )
    return found


def _local(when: datetime, encounter: EncounterRef) -> date:
    return when.astimezone(encounter.zone).date()


def _coverage(
    work_batch: Batch, patient_key: str, row: SourceRow, column: str, day: date
) -> CoverageRef | None:
    """The coverage a claim's payer column names, None if it names no insurance."""
    text = row.text(column)
    if text in ("", "0"):
        return None
    payer_key = parse_uuid(row, column)
    payer = work_batch.state.payers.get(payer_key)
    if payer is None:
        raise work_batch.state.missing("payers.csv", payer_key, column)
    if payer.payer_type == "self_pay":
        return None
    held = [c for c in work_batch.state.coverages.get(patient_key, []) if c.payer_id == payer.id]
    covering = sorted((c for c in held if c.covers(day)), key=lambda c: c.priority)
    if not covering:
        raise RowError(f"the patient has no coverage of the {column} payer on the date of service")
    return covering[0]


def _condition(
    batch: Batch, patient: PatientRef, encounter: EncounterRef, code: str, day: date
) -> ConditionRef | None:
    """The patient's condition with this code: the one recorded at this encounter, else the
    latest with an onset on or before the date of service."""
    held = [c for c in batch.state.conditions.get(patient.id, []) if c.code == code]
    here = [c for c in held if c.encounter_id == encounter.id]
    if here:
        return here[0]
    earlier = [c for c in held if c.onset is None or c.onset <= day]
    return max(earlier, key=lambda c: c.onset or date.min) if earlier else None


def _status(row: SourceRow, column: str) -> ClaimStatus:
    text = row.text(column).upper() or "BILLED"
    if text not in STATUSES:
        raise RowError(f"{column} must be BILLED or CLOSED")
    return STATUSES[text]


def _claim(batch: Batch, row: SourceRow, key: str, invoices: dict[uuid.UUID, InvoiceState]) -> Work:
    state = batch.state
    patient_key = parse_uuid(row, "PATIENTID")
    patient = state.patient(patient_key, "PATIENTID")
    encounter = state.encounter(parse_uuid(row, "APPOINTMENTID"), patient_key, "APPOINTMENTID")
    provider_key = parse_uuid(row, "PROVIDERID")
    practitioner = state.practitioners.get(provider_key)
    if practitioner is None:
        raise state.missing("providers.csv", provider_key, "PROVIDERID")
    served = batch.not_future(parse_instant(row, "SERVICEDATE"), "SERVICEDATE")
    day = _local(served, encounter)
    diagnoses: list[tuple[int, Concept, ConditionRef | None]] = []
    pointers: dict[int, int] = {}
    for number in range(1, 9):
        code = row.text(f"DIAGNOSIS{number}")
        if not code:
            continue
        concept = coded(CodeSystem.SNOMEDCT, code)
        same = next((p for p, c, _ in diagnoses if c.code == concept.code), None)
        if same is not None:
            pointers[number] = same
            continue
        pointer = len(diagnoses) + 1
        pointers[number] = pointer
        diagnoses.append(
            (pointer, concept, _condition(batch, patient, encounter, concept.code, day))
        )
    if not diagnoses:
        raise RowError("DIAGNOSIS1 is empty")
    primary_coverage = _coverage(batch, patient_key, row, "PRIMARYPATIENTINSURANCEID", day)
    secondary_coverage = _coverage(batch, patient_key, row, "SECONDARYPATIENTINSURANCEID", day)
    if primary_coverage is None and secondary_coverage is not None:
        raise RowError("a secondary payer without a primary one")
    primary = (
        ClaimState(uuid.uuid4(), primary_coverage, _status(row, "STATUS1"))
        if primary_coverage is not None
        else None
    )
    secondary_status = (
        _status(row, "STATUS2") if secondary_coverage is not None else ClaimStatus.SUBMITTED
    )
    unit = batch.unit(row, key, None)
    invoice = invoices.get(encounter.id)
    if invoice is None:
        invoice = InvoiceState(uuid.uuid4(), unit)
        invoices[encounter.id] = invoice
        unit.add(
            INVOICES,
            {
                "id": invoice.id,
                "tenant_id": batch.tenant_id,
                "patient_id": patient.id,
                "encounter_id": encounter.id,
                "coverage_id": primary_coverage.id if primary_coverage is not None else None,
                "service_date": _local(encounter.start_at, encounter),
                "created_at": batch.now,
                "updated_at": batch.now,
            },
        )

        def forget() -> None:
            invoices.pop(encounter.id, None)

        unit.undo = forget
    elif invoice.made_by is not None:
        unit.needs.append(invoice.made_by)
    unit.target = (CLAIMS, primary.id) if primary is not None else (INVOICES, invoice.id)
    return Work(
        batch=batch,
        row=row,
        unit=unit,
        patient=patient,
        encounter=encounter,
        invoice=invoice,
        rendering=practitioner.id,
        department_id=practitioner.department_id,
        diagnoses=diagnoses,
        pointers=pointers,
        primary=primary,
        secondary_coverage=secondary_coverage,
        secondary_status=secondary_status,
    )


def _transaction_key(row: SourceRow, seen: set[str]) -> str:
    key = parse_uuid(row, "ID")
    if key in seen:
        raise RowError("repeats the ID of another transaction")
    seen.add(key)
    return key


def _transaction(work: Work, batch: Batch, row: SourceRow, seen: set[str]) -> None:
    try:
        key = _transaction_key(row, seen)
        if batch.state.present(TRANSACTIONS_FILE, key):
            batch.summary.present += 1
            return
        if row.text("PATIENTID") and parse_uuid(row, "PATIENTID") != parse_uuid(
            work.row, "PATIENTID"
        ):
            raise RowError("PATIENTID is not the patient of its claim")
        kind = row.required("TYPE").upper()
        if kind == "CHARGE":
            _charge(work, batch, row, key)
        elif kind == "PAYMENT":
            _payment(work, batch, row, key)
        elif kind == "TRANSFEROUT":
            _transfer_out(work, batch, row, key)
        elif kind == "TRANSFERIN":
            _transfer_in(work, batch, row, key)
        elif kind == "ADJUSTMENT":
            _adjustment(work, batch, row, key)
        else:
            raise RowError(f"TYPE {kind[:16]!r} is not a transaction type")
    except RowError as error:
        batch.report.fail(TRANSACTIONS_FILE, row.line, str(error))
        kind = row.text("TYPE").upper()
        if kind == "CHARGE":
            work.current, work.failed_charge = None, row.line
        elif kind == "TRANSFEROUT":
            work.failed_transfers[row.text("CHARGEID")] = row.line


def _billed_code(work: Work, code: str) -> Concept:
    """What Synthea billed: a drug or vaccine given in the encounter, else the encounter or
    a procedure (SNOMED CT). A code given in no other way is looked up in each in turn."""
    given = work.batch.state.given.get(work.encounter.id, set())
    for system in (CodeSystem.RXNORM, CodeSystem.CVX):
        if (system.value, code) in given:
            return coded(system, code)
    for system in (CodeSystem.SNOMEDCT, CodeSystem.RXNORM, CodeSystem.CVX):
        concept = lookup(system, code)
        if concept is not None:
            return concept
    raise RowError(f"PROCEDURECODE {code[:16]!r} is not a known SNOMED CT, RxNorm or CVX code")


def _charge(work: Work, batch: Batch, row: SourceRow, key: str) -> None:
    amount = parse_cents(row, "AMOUNT")
    units = parse_count(row, "UNITS", 1, 999) if row.text("UNITS") else 1
    unit_price = parse_cents(row, "UNITAMOUNT") if row.text("UNITAMOUNT") else amount // units
    if unit_price * units != amount:
        raise RowError("AMOUNT is not UNITAMOUNT times UNITS")
    code = _billed_code(work, row.required("PROCEDURECODE"))
    pointers: list[int] = []
    for number in range(1, 5):
        text = row.text(f"DIAGNOSISREF{number}")
        if not text:
            continue
        if not text.isdigit() or int(text) not in work.pointers:
            raise RowError(f"DIAGNOSISREF{number} names no diagnosis of its claim")
        pointer = work.pointers[int(text)]
        if pointer not in pointers:
            pointers.append(pointer)
    if not pointers:
        raise RowError("the charge points at no diagnosis of its claim")
    conditions: list[uuid.UUID] = []
    for pointer in pointers:
        condition = work.diagnoses[pointer - 1][2]
        if condition is not None and condition.id not in conditions:
            conditions.append(condition.id)
    holder = HOLDERS.get(row.text("TRANSFERTYPE"), PRIMARY)
    if work.primary is None:
        holder = PATIENT  # Synthea's "NO_INSURANCE" payer: the patient owes it
    if holder == SECONDARY:
        raise RowError("a charge is billed to the primary payer or the patient first")
    if work.primary is not None and len(work.primary.lines) >= MAX_LINES:
        raise RowError(f"a claim carries at most {MAX_LINES} lines")
    served = parse_instant(row, "FROMDATE")
    posted = parse_instant(row, "TODATE") if row.text("TODATE") else served
    procedure_id = None
    if code.system == CodeSystem.SNOMEDCT:
        pending = work.batch.state.procedures.get((work.encounter.id, code.code))
        if pending:
            procedure_id = pending.pop(0)
    charge_id = uuid.uuid4()
    unit = batch.unit(row, key, (CHARGES, charge_id))
    unit.needs.append(work.unit)
    line = LineState(
        unit,
        charge_id,
        amount,
        pointers,
        _local(served, work.encounter),
        code,
        units,
        holder,
        amount,
    )
    padded = [*conditions[:4], None, None, None, None]
    unit.add(
        CHARGES,
        {
            "id": charge_id,
            "tenant_id": batch.tenant_id,
            "patient_id": work.patient.id,
            "created_at": batch.now,
            "updated_at": batch.now,
            "invoice_id": work.invoice.id,
            "encounter_id": work.encounter.id,
            "procedure_id": procedure_id,
            "code_system": str(code.system),
            "code": code.code,
            "modifiers": None,
            "units": units,
            "service_date": line.service_date,
            "rendering_practitioner_id": work.rendering,
            "location_id": work.encounter.location_id,
            "department_id": work.department_id,
            "fee_schedule_id": None,
            "unit_price_cents": unit_price,
            "amount_cents": amount,
            "diagnosis1_id": padded[0],
            "diagnosis2_id": padded[1],
            "diagnosis3_id": padded[2],
            "diagnosis4_id": padded[3],
            "status": "active",
            "posted_at": posted,
            "posted_by": None,
            "data_source": SYNTHEA,
        },
    )
    if work.primary is not None:
        work.primary.lines.append(_line_row(work, work.primary, line))
        unit.add(CLAIM_LINES, work.primary.lines[-1])
    work.invoice.charges += amount
    work.current = line


def _line_row(work: Work, claim: ClaimState, line: LineState) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "tenant_id": work.batch.tenant_id,
        "claim_id": claim.id,
        "line_number": len(claim.lines) + 1,
        "charge_id": line.charge_id,
        "code_system": str(line.code.system),
        "code": line.code.code,
        "modifiers": None,
        "units": line.units,
        "service_date": line.service_date,
        "amount_cents": line.amount,
        "diagnosis_pointers": line.pointers,
        "rendering_npi": None,
        "data_source": SYNTHEA,
    }


def _line(work: Work, row: SourceRow) -> LineState:
    if work.current is None:
        if work.failed_charge is not None:
            raise RowError(f"its charge failed ({TRANSACTIONS_FILE}:{work.failed_charge})")
        raise RowError("it follows no charge of its claim")
    return work.current


def _posted(batch: Batch, row: SourceRow) -> tuple[datetime, date]:
    when = parse_instant(row, "TODATE") if row.text("TODATE") else parse_instant(row, "FROMDATE")
    if when.date() > batch.now.date() + timedelta(days=1):
        raise RowError("the posting date must not be in the future")
    return when, when.date()


def _applied(work: Work, line: LineState, amount: int) -> int:
    """What of `amount` the line still owes. Synthea lets a fixed copay exceed a small charge
    and drops a rounding cent here and there, leaving the line at 0.00: the ledger never goes
    below zero either, so the excess is left out (and counted), and balances end where
    Synthea's OUTSTANDING does."""
    applied = min(amount, line.outstanding)
    if applied < amount:
        work.excess.append(amount - applied)
    return applied


def _check_room(work: Work, claim: ClaimState | None, amount: int, *, pays: bool) -> None:
    """The ledger's rules: within what the claim and the invoice still owe."""
    if claim is not None and amount > claim.total - claim.settled:
        raise RowError("the amount exceeds what remains on its claim")
    if pays and amount > work.invoice.balance:
        raise RowError("the amount exceeds the invoice balance")


def _assignable(work: Work, amount: int) -> None:
    """Patient responsibility never exceeds what is owed on the invoice."""
    owed = work.invoice.charges - work.invoice.adjustments
    if work.invoice.responsibility + amount > owed:
        raise RowError("patient responsibility would exceed what is owed on the invoice")


def _ledger_base(work: Work, when: datetime, day: date) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "tenant_id": work.batch.tenant_id,
        "patient_id": work.patient.id,
        "created_at": work.batch.now,
        "updated_at": work.batch.now,
        "invoice_id": work.invoice.id,
        "remittance_id": None,
        "posted_on": day,
        "posted_at": when,
        "posted_by": None,
    }


def _adjustment_row(
    work: Work,
    row: SourceRow,
    claim: ClaimState | None,
    kind: AdjustmentKind,
    carc: Reason,
    amount: int,
) -> dict[str, Any]:
    when, day = _posted(work.batch, row)
    return {
        **_ledger_base(work, when, day),
        "claim_id": claim.id if claim is not None else None,
        "kind": kind.value,
        "group_code": carc.group.value,
        "reason_code": carc.code,
        "amount_cents": amount,
    }


def _payment(work: Work, batch: Batch, row: SourceRow, key: str) -> None:
    line = _line(work, row)
    given = parse_cents(row, "PAYMENTS")
    if given < 1:
        raise RowError("PAYMENTS must be at least 0.01")
    method = PAYMENT_METHODS.get(row.text("METHOD").upper())
    if method is None:
        raise RowError("METHOD must be CASH, CHECK, CC, ECHECK or COPAY")
    when, day = _posted(batch, row)
    claim = work.claim_of(line.holder)
    copay = row.text("METHOD").upper() == "COPAY"
    amount = _applied(work, line, given)
    _check_room(work, claim, amount, pays=True)
    if copay and claim is not None:
        _assignable(work, amount)
    unit = batch.unit(row, key, None)
    unit.needs.append(line.unit)
    if amount == 0:
        return
    if copay and claim is not None:
        unit.add(
            ADJUSTMENTS,
            _adjustment_row(
                work, row, claim, AdjustmentKind.PATIENT_RESPONSIBILITY, _PR_COPAY, amount
            ),
        )
        work.invoice.responsibility += amount
    by_payer = claim is not None and not copay
    payment = {
        **_ledger_base(work, when, day),
        "source": "payer" if by_payer else "patient",
        "payer_id": claim.coverage.payer_id if by_payer and claim is not None else None,
        "claim_id": claim.id if by_payer and claim is not None else None,
        "amount_cents": amount,
        "method": method,
        "reference": key,
    }
    unit.add(PAYMENTS, payment)
    unit.target = (PAYMENTS, payment["id"])
    if claim is not None:
        claim.settled += amount
    if by_payer:
        line.holder_paid = True
    line.outstanding -= amount
    work.invoice.payments += amount


def _transfer_out(work: Work, batch: Batch, row: SourceRow, key: str) -> None:
    line = _line(work, row)
    amount = _applied(work, line, parse_cents(row, "TRANSFERS"))
    unit = batch.unit(row, key, None)
    unit.needs.append(line.unit)
    work.transfers[row.text("CHARGEID")] = (unit, amount, line)


def _transfer_in(work: Work, batch: Batch, row: SourceRow, key: str) -> None:
    out = work.transfers.pop(row.text("TRANSFEROUTID"), None)
    if out is None:
        failed = work.failed_transfers.get(row.text("TRANSFEROUTID"))
        if failed is not None:
            raise RowError(f"its TRANSFEROUT failed ({TRANSACTIONS_FILE}:{failed})")
        raise RowError("TRANSFEROUTID names no TRANSFEROUT of its claim")
    out_unit, amount, line = out
    if min(parse_cents(row, "TRANSFERS"), line.outstanding) != amount:
        raise RowError("TRANSFERS is not the amount of its TRANSFEROUT")
    target = HOLDERS.get(row.text("TRANSFERTYPE"))
    if target not in (PATIENT, SECONDARY):
        raise RowError("TRANSFERTYPE must be p (the patient) or 2 (the secondary payer)")
    claim = work.claim_of(line.holder)
    if claim is None:
        # Without insurance the patient owes every line already: nothing moves.
        if target != PATIENT:
            raise RowError("its claim has no secondary payer to transfer to")
        unit = batch.unit(row, key, None)
        unit.needs += [line.unit, out_unit]
        return
    if target == SECONDARY and (line.holder != PRIMARY or work.secondary_coverage is None):
        raise RowError("its claim has no secondary payer to transfer to")
    _check_room(work, claim, amount, pays=False)
    _assignable(work, amount)
    if target == SECONDARY:
        assert work.secondary_coverage is not None
        if work.secondary is None:
            work.secondary = ClaimState(
                uuid.uuid4(), work.secondary_coverage, work.secondary_status
            )
        if len(work.secondary.lines) >= MAX_LINES:
            raise RowError(f"a claim carries at most {MAX_LINES} lines")
    carc = _PR_COINSURANCE if line.holder_paid else _PR_NOT_COVERED
    unit = batch.unit(row, key, None)
    unit.needs += [line.unit, out_unit]
    if amount > 0:
        adjustment = _adjustment_row(
            work, row, claim, AdjustmentKind.PATIENT_RESPONSIBILITY, carc, amount
        )
        unit.add(ADJUSTMENTS, adjustment)
        unit.target = (ADJUSTMENTS, adjustment["id"])
        claim.settled += amount
        work.invoice.responsibility += amount
    if work.secondary is not None and target == SECONDARY:
        work.secondary.lines.append(_line_row(work, work.secondary, line))
        unit.add(CLAIM_LINES, work.secondary.lines[-1])
    line.holder, line.holder_paid = target, False


def _adjustment(work: Work, batch: Batch, row: SourceRow, key: str) -> None:
    line = _line(work, row)
    given = parse_cents(row, "ADJUSTMENTS")
    if given < 1:
        raise RowError("ADJUSTMENTS must be at least 0.01")
    amount = _applied(work, line, given)
    claim = work.claim_of(line.holder)
    _check_room(work, claim, amount, pays=True)
    if work.invoice.responsibility > work.invoice.charges - work.invoice.adjustments - amount:
        raise RowError("the adjustment would leave the patient owing more than the invoice")
    kind = AdjustmentKind.CONTRACTUAL if claim is not None else AdjustmentKind.WRITE_OFF
    unit = batch.unit(row, key, None)
    unit.needs.append(line.unit)
    if amount == 0:
        return
    adjustment = _adjustment_row(work, row, claim, kind, _CO_CONTRACTUAL, amount)
    unit.add(ADJUSTMENTS, adjustment)
    unit.target = (ADJUSTMENTS, adjustment["id"])
    if claim is not None:
        claim.settled += amount
    line.outstanding -= amount
    work.invoice.adjustments += amount


def _claim_rows(work: Work, claim: ClaimState) -> Iterable[tuple[Table, dict[str, Any]]]:
    batch = work.batch
    yield (
        CLAIMS,
        {
            "id": claim.id,
            "tenant_id": batch.tenant_id,
            "patient_id": work.patient.id,
            "created_at": batch.now,
            "updated_at": batch.now,
            "invoice_id": work.invoice.id,
            "coverage_id": claim.coverage.id,
            "payer_id": claim.coverage.payer_id,
            "member_id": claim.coverage.member_id,
            "frequency_code": "1",
            "original_claim_id": None,
            "status": claim.status.value,
            "place_of_service": PLACE_OF_SERVICE[work.encounter.encounter_class],
            "billing_npi": None,
            "rendering_npi": None,
            "total_charge_cents": claim.total,
            "tracking_id": work.unit.key,
            "payer_claim_number": None,
            "denial_group_code": None,
            "denial_reason_code": None,
            "denial_remark_code": None,
            "data_source": SYNTHEA,
        },
    )
    for pointer, concept, condition in work.diagnoses:
        yield (
            CLAIM_DIAGNOSES,
            {
                "id": uuid.uuid4(),
                "tenant_id": batch.tenant_id,
                "claim_id": claim.id,
                "pointer": pointer,
                "condition_id": condition.id if condition is not None else None,
                "code_system": str(concept.system),
                "code": concept.code,
                "data_source": SYNTHEA,
            },
        )
    yield (
        CLAIM_EVENTS,
        {
            "id": uuid.uuid4(),
            "tenant_id": batch.tenant_id,
            "claim_id": claim.id,
            "action": ClaimAction.IMPORT.value,
            "from_status": None,
            "to_status": claim.status.value,
            "occurred_at": batch.now,
            "actor_user_id": None,
            "reason_code": None,
            "remark_code": None,
            "reference": work.unit.key,
        },
    )


def _finish(work: Work) -> None:
    """The claim rows, now that its lines and their amounts are known."""
    for claim in (work.primary, work.secondary):
        if claim is not None:
            work.unit.rows.extend(_claim_rows(work, claim))
    if work.secondary is not None:
        work.batch.summary.notes["secondary claims made for the secondary payer's share"] += 1
