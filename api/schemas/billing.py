"""Billing requests and responses.

Money travels as a decimal string of dollars with at most two decimals ("125.50"), in and
out. JSON numbers are refused: a float may already have lost a cent before it reached us.
Negative amounts, fractional cents and amounts above 1000000.00 are refused.
"""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema

from api.schemas.base import RequestModel, ResponseModel
from api.schemas.coding import Coding, CodingOut
from transactional.billing.accounts import Balance, Statement, patient_due
from transactional.billing.claim_views import ClaimSummary, ClaimView
from transactional.billing.invoices import InvoiceView
from transactional.billing.models import (
    Adjustment,
    Charge,
    FeeSchedule,
    FeeScheduleItem,
    Payment,
    Remittance,
)
from transactional.billing.money import MAX_AMOUNT_CENTS, format_cents, parse_amount

_PATTERN = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?$"
_AMOUNT_SCHEMA = {
    "type": "string",
    "pattern": _PATTERN,
    "examples": ["125.50"],
    "description": f"US dollars, at most two decimals, 0.00 to {format_cents(MAX_AMOUNT_CENTS)}",
}


def _to_cents(value: object) -> int:
    if not isinstance(value, str):
        raise ValueError('amounts are decimal strings with at most two decimals, e.g. "125.50"')
    return parse_amount(value)


def _positive(cents: int) -> int:
    if cents <= 0:
        raise ValueError("the amount must be greater than 0.00")
    return cents


Money = Annotated[int, BeforeValidator(_to_cents), WithJsonSchema(_AMOUNT_SCHEMA)]
PositiveMoney = Annotated[
    int, BeforeValidator(_to_cents), AfterValidator(_positive), WithJsonSchema(_AMOUNT_SCHEMA)
]
MoneyOut = Annotated[
    int,
    PlainSerializer(format_cents, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["125.50"], "description": "US dollars"}),
]
Npi = Annotated[str, Field(pattern=r"^[0-9]{10}$")]
GroupCode = Literal["CO", "OA", "PI", "PR"]
Method = Literal["cash", "check", "card", "eft", "other"]
ClaimStatusName = Literal["draft", "submitted", "accepted", "denied", "partially_paid", "paid"]


def _modifiers(text: str | None) -> list[str]:
    return text.split(",") if text else []


# Fee schedules


class FeeIn(RequestModel):
    code: Coding = Field(description="CPT or HCPCS")
    amount: Money


class FeeScheduleCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    payer_id: uuid.UUID | None = Field(default=None, description="None: the default schedule")
    effective_from: date
    effective_to: date | None = Field(default=None, description="Last day; None: open-ended")
    fees: list[FeeIn] = Field(min_length=1, max_length=5000)


class FeeScheduleEnd(RequestModel):
    effective_to: date


class FeeOut(ResponseModel):
    code: CodingOut
    amount: MoneyOut

    @classmethod
    def of(cls, item: FeeScheduleItem) -> "FeeOut":
        return cls(
            code=CodingOut(system=item.code_system, code=item.code, display=None),
            amount=item.amount_cents,
        )


class FeeScheduleOut(ResponseModel):
    id: uuid.UUID
    payer_id: uuid.UUID | None
    name: str
    effective_from: date
    effective_to: date | None
    fees: list[FeeOut]

    @classmethod
    def of(cls, schedule: FeeSchedule, items: list[FeeScheduleItem]) -> "FeeScheduleOut":
        return cls(
            id=schedule.id,
            payer_id=schedule.payer_id,
            name=schedule.name,
            effective_from=schedule.effective_from,
            effective_to=schedule.effective_to,
            fees=[FeeOut.of(item) for item in items],
        )


# Charges and invoices


class PointersIn(RequestModel):
    procedure_id: uuid.UUID
    diagnosis_ranks: list[Annotated[int, Field(ge=1, le=12)]] = Field(
        min_length=1, max_length=4, description="Ranks of the encounter's diagnoses, in order"
    )


class CaptureIn(RequestModel):
    diagnosis_pointers: list[PointersIn] = Field(
        default_factory=list,
        max_length=100,
        description="Per procedure; a procedure not listed points at the diagnoses ranked 1-4",
    )


class VoidIn(RequestModel):
    reason: str = Field(min_length=1, max_length=500)


class ChargeOut(ResponseModel):
    id: uuid.UUID
    invoice_id: uuid.UUID
    encounter_id: uuid.UUID
    procedure_id: uuid.UUID | None = Field(description="None for an imported charge")
    code: CodingOut
    modifiers: list[str]
    units: int
    service_date: date
    rendering_practitioner_id: uuid.UUID
    location_id: uuid.UUID | None
    department_id: uuid.UUID | None
    fee_schedule_id: uuid.UUID | None = Field(
        description="None for an imported charge, which its source priced"
    )
    unit_price: MoneyOut
    amount: MoneyOut
    diagnosis_ids: list[uuid.UUID] = Field(description="Diagnosis pointers, in order (1-4)")
    status: Literal["active", "void"]
    posted_at: datetime
    void_reason: str | None
    voided_at: datetime | None

    @classmethod
    def of(cls, charge: Charge) -> "ChargeOut":
        return cls(
            id=charge.id,
            invoice_id=charge.invoice_id,
            encounter_id=charge.encounter_id,
            procedure_id=charge.procedure_id,
            code=CodingOut(system=charge.code_system, code=charge.code, display=None),
            modifiers=_modifiers(charge.modifiers),
            units=charge.units,
            service_date=charge.service_date,
            rendering_practitioner_id=charge.rendering_practitioner_id,
            location_id=charge.location_id,
            department_id=charge.department_id,
            fee_schedule_id=charge.fee_schedule_id,
            unit_price=charge.unit_price_cents,
            amount=charge.amount_cents,
            diagnosis_ids=charge.diagnosis_ids,
            status=charge.status,
            posted_at=charge.posted_at,
            void_reason=charge.void_reason,
            voided_at=charge.voided_at,
        )


class PaymentOut(ResponseModel):
    id: uuid.UUID
    invoice_id: uuid.UUID
    source: Literal["payer", "patient"]
    payer_id: uuid.UUID | None
    claim_id: uuid.UUID | None
    remittance_id: uuid.UUID | None
    amount: MoneyOut
    method: Method
    reference: str | None
    posted_on: date
    posted_at: datetime
    posted_by: uuid.UUID | None

    @classmethod
    def of(cls, payment: Payment) -> "PaymentOut":
        return cls.model_validate(
            {**_columns(payment), "amount": payment.amount_cents}, from_attributes=False
        )


class AdjustmentOut(ResponseModel):
    id: uuid.UUID
    invoice_id: uuid.UUID
    claim_id: uuid.UUID | None
    remittance_id: uuid.UUID | None
    kind: Literal["contractual", "write_off", "patient_responsibility"]
    group_code: GroupCode
    reason_code: str
    amount: MoneyOut
    posted_on: date
    posted_at: datetime
    posted_by: uuid.UUID | None

    @classmethod
    def of(cls, adjustment: Adjustment) -> "AdjustmentOut":
        return cls.model_validate(
            {**_columns(adjustment), "amount": adjustment.amount_cents}, from_attributes=False
        )


def _columns(row: Payment | Adjustment) -> dict[str, object]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


class InvoiceTotalsOut(ResponseModel):
    """`balance` = charges - payments - adjustments; `patient_due` + `insurance_due` = it."""

    id: uuid.UUID
    patient_id: uuid.UUID
    encounter_id: uuid.UUID
    coverage_id: uuid.UUID | None
    service_date: date
    status: Literal["open", "paid_in_full", "void"]
    charges: MoneyOut
    payments: MoneyOut
    patient_payments: MoneyOut
    adjustments: MoneyOut
    patient_responsibility: MoneyOut
    balance: MoneyOut
    patient_due: MoneyOut
    insurance_due: MoneyOut
    void_reason: str | None
    voided_at: datetime | None

    @classmethod
    def of(cls, view: InvoiceView) -> "InvoiceTotalsOut":
        invoice = view.invoice
        due = patient_due(invoice)
        return cls(
            id=invoice.id,
            patient_id=invoice.patient_id,
            encounter_id=invoice.encounter_id,
            coverage_id=invoice.coverage_id,
            service_date=invoice.service_date,
            status=invoice.status,
            charges=invoice.charges_cents,
            payments=invoice.payments_cents,
            patient_payments=invoice.patient_payments_cents,
            adjustments=invoice.adjustments_cents,
            patient_responsibility=invoice.patient_responsibility_cents,
            balance=invoice.balance_cents,
            patient_due=due,
            insurance_due=invoice.balance_cents - due,
            void_reason=invoice.void_reason,
            voided_at=invoice.voided_at,
        )


class InvoiceOut(InvoiceTotalsOut):
    charge_lines: list[ChargeOut]
    payment_lines: list[PaymentOut]
    adjustment_lines: list[AdjustmentOut]

    @classmethod
    def of(cls, view: InvoiceView) -> "InvoiceOut":
        return cls(
            **InvoiceTotalsOut.of(view).__dict__,
            charge_lines=[ChargeOut.of(c) for c in view.charges],
            payment_lines=[PaymentOut.of(p) for p in view.payments],
            adjustment_lines=[AdjustmentOut.of(a) for a in view.adjustments],
        )


class CaptureOut(ResponseModel):
    invoice: InvoiceOut
    created_charge_ids: list[uuid.UUID] = Field(description="Empty when nothing new was charged")
    not_billable_procedure_ids: list[uuid.UUID] = Field(
        description="Completed procedures coded outside CPT and HCPCS, which are not charged"
    )


# Claims


class ClaimCreate(RequestModel):
    invoice_id: uuid.UUID
    coverage_id: uuid.UUID | None = Field(default=None, description="Default: the invoice's")
    billing_npi: Npi | None = Field(default=None, description="Default: the rendering NPI")


class AcceptIn(RequestModel):
    payer_claim_number: str | None = Field(default=None, min_length=1, max_length=50)


class DenyIn(RequestModel):
    reason_code: str = Field(
        pattern=r"^[A-Za-z]{2}-[A-Za-z0-9]{1,5}$", description='Group and CARC, e.g. "CO-16"'
    )
    remark_code: str | None = Field(
        default=None, pattern=r"^[A-Za-z]{1,2}[0-9]{1,4}$", description='RARC, e.g. "MA130"'
    )


class ResubmitIn(RequestModel):
    coverage_id: uuid.UUID | None = Field(default=None, description="Default: the original's")


class ClaimDiagnosisOut(ResponseModel):
    pointer: int
    code: CodingOut


class ClaimLineOut(ResponseModel):
    line_number: int
    charge_id: uuid.UUID
    code: CodingOut
    modifiers: list[str]
    units: int
    service_date: date
    amount: MoneyOut
    diagnosis_pointers: list[int]
    rendering_npi: str | None


class ClaimEventOut(ResponseModel):
    action: str
    from_status: str | None
    to_status: str
    occurred_at: datetime
    actor_user_id: uuid.UUID | None
    reason_code: str | None
    remark_code: str | None
    reference: str | None


class ClaimSummaryOut(ResponseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    invoice_id: uuid.UUID
    coverage_id: uuid.UUID
    payer_id: uuid.UUID
    member_id: str
    frequency_code: Literal["1", "7"]
    original_claim_id: uuid.UUID | None
    status: ClaimStatusName
    place_of_service: str
    billing_npi: str | None = Field(description="None only for a claim imported without one")
    rendering_npi: str | None
    total_charge: MoneyOut
    paid: MoneyOut
    adjusted: MoneyOut
    patient_responsibility: MoneyOut
    remaining: MoneyOut
    tracking_id: str | None
    payer_claim_number: str | None
    denial_reason_code: str | None = Field(description='Group and CARC, e.g. "CO-16"')
    denial_remark_code: str | None
    created_at: datetime

    @classmethod
    def of(cls, summary: ClaimSummary) -> "ClaimSummaryOut":
        claim, money = summary.claim, summary.money
        return cls(
            id=claim.id,
            patient_id=claim.patient_id,
            invoice_id=claim.invoice_id,
            coverage_id=claim.coverage_id,
            payer_id=claim.payer_id,
            member_id=claim.member_id,
            frequency_code=claim.frequency_code,
            original_claim_id=claim.original_claim_id,
            status=claim.status,
            place_of_service=claim.place_of_service,
            billing_npi=claim.billing_npi,
            rendering_npi=claim.rendering_npi,
            total_charge=claim.total_charge_cents,
            paid=money.paid_cents,
            adjusted=money.adjusted_cents,
            patient_responsibility=money.patient_responsibility_cents,
            remaining=summary.remaining_cents,
            tracking_id=claim.tracking_id,
            payer_claim_number=claim.payer_claim_number,
            denial_reason_code=(
                f"{claim.denial_group_code}-{claim.denial_reason_code}"
                if claim.denial_reason_code
                else None
            ),
            denial_remark_code=claim.denial_remark_code,
            created_at=claim.created_at,
        )


class ClaimOut(ClaimSummaryOut):
    diagnoses: list[ClaimDiagnosisOut]
    lines: list[ClaimLineOut]
    events: list[ClaimEventOut]

    @classmethod
    def of(cls, summary: ClaimSummary) -> "ClaimOut":
        assert isinstance(summary, ClaimView)
        return cls(
            **ClaimSummaryOut.of(summary).__dict__,
            diagnoses=[
                ClaimDiagnosisOut(
                    pointer=d.pointer,
                    code=CodingOut(system=d.code_system, code=d.code, display=None),
                )
                for d in summary.diagnoses
            ],
            lines=[
                ClaimLineOut(
                    line_number=line.line_number,
                    charge_id=line.charge_id,
                    code=CodingOut(system=line.code_system, code=line.code, display=None),
                    modifiers=_modifiers(line.modifiers),
                    units=line.units,
                    service_date=line.service_date,
                    amount=line.amount_cents,
                    diagnosis_pointers=list(line.diagnosis_pointers),
                    rendering_npi=line.rendering_npi,
                )
                for line in summary.lines
            ],
            events=[ClaimEventOut.model_validate(event) for event in summary.events],
        )


class ClaimPage(ResponseModel):
    items: list[ClaimSummaryOut]


# Payments, adjustments, remittances


class PaymentIn(RequestModel):
    invoice_id: uuid.UUID
    source: Literal["patient", "payer"]
    amount: PositiveMoney
    posted_on: date
    method: Method
    reference: str | None = Field(default=None, max_length=50, description="Check or receipt no.")
    claim_id: uuid.UUID | None = Field(default=None, description="Required for a payer payment")
    payer_id: uuid.UUID | None = Field(default=None, description="Default: the claim's payer")


class AdjustmentIn(RequestModel):
    invoice_id: uuid.UUID
    kind: Literal["contractual", "write_off", "patient_responsibility"]
    group_code: GroupCode = Field(description="patient_responsibility uses PR, and only it")
    reason_code: str = Field(min_length=1, max_length=5, description='CARC, e.g. "45"')
    amount: PositiveMoney
    posted_on: date
    claim_id: uuid.UUID | None = None


class PostedPaymentOut(ResponseModel):
    payment: PaymentOut
    invoice: InvoiceTotalsOut


class PostedAdjustmentOut(ResponseModel):
    adjustment: AdjustmentOut
    invoice: InvoiceTotalsOut


class CasIn(RequestModel):
    """One CAS adjustment of a claim; group PR is the patient's responsibility."""

    group_code: GroupCode
    reason_code: str = Field(min_length=1, max_length=5)
    amount: PositiveMoney


class RemittedClaimIn(RequestModel):
    claim_id: uuid.UUID
    paid: Money
    adjustments: list[CasIn] = Field(default_factory=list, max_length=20)


class RemittanceIn(RequestModel):
    payer_id: uuid.UUID
    reference: str = Field(min_length=1, max_length=50, description="EFT trace or check number")
    received_on: date
    method: Method = "eft"
    claims: list[RemittedClaimIn] = Field(min_length=1, max_length=500)


class RemittanceOut(ResponseModel):
    id: uuid.UUID
    payer_id: uuid.UUID
    reference: str
    method: Method
    received_on: date
    paid: MoneyOut
    posted_at: datetime
    claims: list[ClaimSummaryOut]

    @classmethod
    def of(cls, remittance: Remittance, claims: list[ClaimSummary]) -> "RemittanceOut":
        return cls(
            id=remittance.id,
            payer_id=remittance.payer_id,
            reference=remittance.reference,
            method=remittance.method,
            received_on=remittance.received_on,
            paid=remittance.paid_cents,
            posted_at=remittance.posted_at,
            claims=[ClaimSummaryOut.of(summary) for summary in claims],
        )


# Balances and statements


class AgingOut(ResponseModel):
    bucket: Literal["0-30", "31-60", "61-90", "91-120", "over-120"] = Field(
        description="Days since the date of service"
    )
    patient_due: MoneyOut
    insurance_due: MoneyOut


class BalanceOut(ResponseModel):
    patient_id: uuid.UUID
    as_of: date
    charges: MoneyOut
    payments: MoneyOut
    adjustments: MoneyOut
    balance: MoneyOut
    patient_due: MoneyOut = Field(description="What the patient owes now (the balance due)")
    insurance_due: MoneyOut = Field(description="What waits on payers")
    aging: list[AgingOut]

    @classmethod
    def of(cls, balance: Balance) -> "BalanceOut":
        return cls(
            patient_id=balance.patient_id,
            as_of=balance.as_of,
            charges=balance.charges_cents,
            payments=balance.payments_cents,
            adjustments=balance.adjustments_cents,
            balance=balance.balance_cents,
            patient_due=balance.patient_due_cents,
            insurance_due=balance.insurance_due_cents,
            aging=[
                AgingOut(
                    bucket=bucket.label,
                    patient_due=bucket.patient_due_cents,
                    insurance_due=bucket.insurance_due_cents,
                )
                for bucket in balance.aging
            ],
        )


class StatementOut(ResponseModel):
    balance: BalanceOut
    invoices: list[InvoiceOut]

    @classmethod
    def of(cls, statement: Statement) -> "StatementOut":
        return cls(
            balance=BalanceOut.of(statement.balance),
            invoices=[InvoiceOut.of(view) for view in statement.invoices],
        )
