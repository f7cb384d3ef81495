"""Billing services against real PostgreSQL: fee lookup, capture, invoices, claims, money."""

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest
from psycopg.errors import (
    CheckViolation,
    ExclusionViolation,
    InsufficientPrivilege,
    IntegrityConstraintViolation,
    UniqueViolation,
)
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.factories.billing import (
    DEFAULT_FEES,
    DIABETES,
    HYPERTENSION,
    LEDGER_TABLES,
    PAYER_FEES,
    SECOND_NPI,
    VISIT,
    BillingClinic,
    make_billing_clinic,
    make_coverage,
    make_fee_schedule,
    make_payer,
)
from tests.factories.identity import make_user
from tests.factories.scheduling import make_practitioner, tenant_session
from transactional.audit.models import AuditEvent
from transactional.audit.trail import SYSTEM, Actor
from transactional.billing.accounts import patient_balance, patient_statement
from transactional.billing.capture import DiagnosisPointers, capture_charges, void_charge
from transactional.billing.claim_views import read_claim
from transactional.billing.claims import (
    accept_claim,
    create_claim,
    deny_claim,
    resubmit_claim,
    submit_claim,
)
from transactional.billing.fee_schedules import (
    Fee,
    NewFeeSchedule,
    create_fee_schedule,
    end_fee_schedule,
    price_for,
)
from transactional.billing.gateway import OfflineClaimGateway
from transactional.billing.invoices import find_invoice, read_invoice, void_invoice
from transactional.billing.models import Charge, Claim, ClaimEvent, Invoice
from transactional.billing.payments import (
    NewAdjustment,
    NewPayment,
    post_adjustment,
    post_payment,
)
from transactional.billing.remittances import (
    CasAdjustment,
    NewRemittance,
    RemittedClaim,
    post_remittance,
)
from transactional.charting.codes import CPT, HCPCS, ICD10CM, SNOMED
from transactional.charting.conditions import NewCondition
from transactional.charting.procedures import NewProcedure, add_procedure
from transactional.database import Database
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.identity.roles import Role

T = TypeVar("T")
TODAY = datetime.now(UTC).date()


@pytest.fixture
def clinic(database: Database) -> BillingClinic:
    return make_billing_clinic(database=database)


@pytest.fixture
def biller(database: Database, clinic: BillingClinic) -> Actor:
    user = make_user(database=database, tenant=clinic.tenant, role=Role.BILLING)
    return Actor(user_id=user.id, role="billing", client_address="198.51.100.4")


@contextmanager
def session_of(clinic: BillingClinic) -> Iterator[Session]:
    with tenant_session(database=clinic.database, tenant=clinic.tenant) as session:
        yield session


def run(clinic: BillingClinic, work: Callable[[Session], T]) -> T:
    """`work` in one committed transaction of the clinic's tenant."""
    with session_of(clinic) as session:
        return work(session)


def capture(clinic: BillingClinic, actor: Actor, encounter_id: uuid.UUID, **kw: object) -> Invoice:
    return run(
        clinic,
        lambda s: (
            capture_charges(
                session=s,
                tenant_id=clinic.tenant.id,
                encounter_id=encounter_id,
                actor=actor,
                **kw,  # type: ignore[arg-type]
            ).invoice
        ),
    )


def claimed(
    clinic: BillingClinic,
    actor: Actor,
    invoice: Invoice,
    gateway: OfflineClaimGateway,
    *,
    accept: bool = True,
) -> Claim:
    """Draft, submit and (unless told) accept a claim of `invoice`."""
    tenant_id = clinic.tenant.id
    claim = run(
        clinic,
        lambda s: (
            create_claim(session=s, tenant_id=tenant_id, invoice_id=invoice.id, actor=actor).claim
        ),
    )
    run(
        clinic,
        lambda s: submit_claim(
            session=s, tenant_id=tenant_id, claim_id=claim.id, gateway=gateway, actor=actor
        ),
    )
    if accept:
        run(
            clinic,
            lambda s: accept_claim(session=s, tenant_id=tenant_id, claim_id=claim.id, actor=actor),
        )
    return run(clinic, lambda s: s.get_one(Claim, claim.id))


def fresh_invoice(clinic: BillingClinic, invoice_id: uuid.UUID) -> Invoice:
    return run(clinic, lambda s: find_invoice(s, clinic.tenant.id, invoice_id))


def remit(
    clinic: BillingClinic,
    actor: Actor,
    claims: list[RemittedClaim],
    *,
    reference: str | None = None,
) -> None:
    run(
        clinic,
        lambda s: post_remittance(
            session=s,
            tenant_id=clinic.tenant.id,
            data=NewRemittance(
                payer_id=clinic.payer.id,
                reference=reference or f"EFT{uuid.uuid4().hex[:10]}",
                received_on=TODAY,
                method="eft",
                claims=tuple(claims),
            ),
            actor=actor,
        ),
    )


def pay(clinic: BillingClinic, actor: Actor, invoice_id: uuid.UUID, cents: int) -> None:
    run(
        clinic,
        lambda s: post_payment(
            session=s,
            tenant_id=clinic.tenant.id,
            data=NewPayment(
                invoice_id=invoice_id,
                source="patient",
                amount_cents=cents,
                posted_on=TODAY,
                method="card",
            ),
            actor=actor,
        ),
    )


# Fee schedules


def test_fee_lookup_picks_the_payers_schedule_on_the_service_date(
    database: Database, clinic: BillingClinic, biller: Actor
) -> None:
    tenant_id = clinic.tenant.id
    other = make_payer(database=database, tenant=clinic.tenant)
    make_fee_schedule(
        database=database,
        tenant=clinic.tenant,
        fees={"99213": 9_000},
        payer=other,
        effective_from=date(2020, 1, 1),
        effective_to=date(2024, 12, 31),
    )
    make_fee_schedule(
        database=database,
        tenant=clinic.tenant,
        fees={"99213": 9_900},
        payer=other,
        effective_from=date(2025, 1, 1),
    )

    def price(payer_id: uuid.UUID | None, code: str, on: date) -> int | None:
        found = run(
            clinic,
            lambda s: price_for(
                session=s, tenant_id=tenant_id, payer_id=payer_id, system=CPT, code=code, on=on
            ),
        )
        return found.unit_price_cents if found else None

    assert price(other.id, "99213", date(2024, 12, 31)) == 9_000
    assert price(other.id, "99213", date(2025, 1, 1)) == 9_900
    assert price(clinic.payer.id, "99213", TODAY) == PAYER_FEES["99213"]
    # Not priced by the payer: the default schedule's price; without a payer, likewise.
    assert price(other.id, "36415", TODAY) == DEFAULT_FEES["36415"]
    assert price(None, "99213", TODAY) == DEFAULT_FEES["99213"]
    assert price(None, "99213", date(2019, 12, 31)) is None
    assert price(None, "99215", TODAY) is None


def test_one_payers_fee_schedules_cannot_overlap(
    database: Database, clinic: BillingClinic, biller: Actor
) -> None:
    tenant_id = clinic.tenant.id
    data = NewFeeSchedule(
        name="Overlapping",
        payer_id=clinic.payer.id,
        effective_from=date(2026, 1, 1),
        fees=(Fee(CPT, "99213", 100),),
    )
    before = clinic.count("fee_schedules")
    with pytest.raises(Conflict, match="already has a fee schedule"):
        run(
            clinic,
            lambda s: create_fee_schedule(session=s, tenant_id=tenant_id, data=data, actor=biller),
        )
    assert clinic.count("fee_schedules") == before
    # The database refuses it too, whoever writes.
    schedule_id = run(
        clinic,
        lambda s: s.scalar(
            text("SELECT id FROM fee_schedules WHERE payer_id = :p"), {"p": clinic.payer.id}
        ),
    )
    with pytest.raises(DBAPIError) as refused, session_of(clinic) as session:
        session.execute(
            text(
                "INSERT INTO fee_schedules (id, tenant_id, payer_id, name, effective_from, "
                "created_at) VALUES (gen_random_uuid(), :t, :p, 'x', DATE '2030-01-01', now())"
            ),
            {"t": tenant_id, "p": clinic.payer.id},
        )
    assert isinstance(refused.value.orig, ExclusionViolation)
    # Ending the old schedule makes room for the new one; its period cannot grow back.
    run(
        clinic,
        lambda s: end_fee_schedule(
            session=s,
            tenant_id=tenant_id,
            fee_schedule_id=schedule_id,
            effective_to=date(2025, 12, 31),
            actor=biller,
        ),
    )
    run(
        clinic,
        lambda s: create_fee_schedule(session=s, tenant_id=tenant_id, data=data, actor=biller),
    )
    with pytest.raises(Conflict, match="shortened"):
        run(
            clinic,
            lambda s: end_fee_schedule(
                session=s,
                tenant_id=tenant_id,
                fee_schedule_id=schedule_id,
                effective_to=date(2026, 6, 30),
                actor=biller,
            ),
        )


@pytest.mark.parametrize(
    ("fees", "message"),
    [
        ((Fee(ICD10CM, "E11.9", 100),), "not accepted"),
        ((Fee(CPT, "00000", 100),), "unknown CPT"),
        ((Fee(CPT, "99213", -1),), "between 0.00"),
        ((Fee(CPT, "99213", 100_000_001),), "between 0.00"),
        ((Fee(CPT, "99213", 100), Fee(CPT, "99213", 200)), "priced twice"),
        ((), "1 to"),
    ],
)
def test_fee_schedules_refuse_bad_prices(
    clinic: BillingClinic, biller: Actor, fees: tuple[Fee, ...], message: str
) -> None:
    data = NewFeeSchedule(name="Bad", effective_from=date(2031, 1, 1), fees=fees)
    with pytest.raises(InvalidInput, match=message):
        run(
            clinic,
            lambda s: create_fee_schedule(
                session=s, tenant_id=clinic.tenant.id, data=data, actor=biller
            ),
        )


# Charge capture


def test_capture_prices_each_procedure_from_the_primary_coverage_schedule(
    database: Database, clinic: BillingClinic, biller: Actor
) -> None:
    encounter = clinic.encounter(
        procedures=(
            VISIT,
            NewProcedure(system=CPT, code="36415", units=2, modifiers=("91",)),
            NewProcedure(system=SNOMED, code="73761001"),
        ),
        diagnoses=(DIABETES, HYPERTENSION, NewCondition(system=ICD10CM, code="E78.5")),
    )
    result = run(
        clinic,
        lambda s: capture_charges(
            session=s, tenant_id=clinic.tenant.id, encounter_id=encounter.id, actor=biller
        ),
    )
    by_code = {charge.code: charge for charge in result.created}
    assert set(by_code) == {"99213", "36415"} and len(result.not_billable) == 1
    draw = by_code["36415"]
    assert (draw.unit_price_cents, draw.units, draw.amount_cents) == (1_500, 2, 3_000)
    assert draw.modifiers == "91" and draw.code_system == CPT
    # The default pointers are the ranked ICD-10-CM diagnoses; the unranked one is not used.
    assert len(draw.diagnosis_ids) == 2
    performed = encounter.start_at + timedelta(minutes=10)
    assert draw.service_date == performed.astimezone(ZoneInfo(clinic.location.time_zone)).date()
    assert draw.rendering_practitioner_id == clinic.practitioner.id
    assert (draw.location_id, draw.department_id) == (clinic.location.id, clinic.department.id)
    assert draw.posted_by == biller.user_id and draw.posted_at >= encounter.start_at
    invoice = result.invoice
    assert invoice.coverage_id == clinic.coverage.id  # type: ignore[union-attr]
    assert (invoice.charges_cents, invoice.balance_cents, invoice.status) == (
        15_500,
        15_500,
        "open",
    )


def test_capture_without_coverage_uses_the_default_schedule(database: Database) -> None:
    clinic = make_billing_clinic(database=database, insured=False)
    actor = Actor(user_id=None, role="billing")
    invoice = capture(clinic, actor, clinic.encounter().id)
    assert invoice.coverage_id is None
    assert invoice.charges_cents == DEFAULT_FEES["99213"]


def test_explicit_pointers_choose_the_diagnoses_in_order(
    clinic: BillingClinic, biller: Actor
) -> None:
    encounter = clinic.encounter(diagnoses=(DIABETES, HYPERTENSION))
    procedure_id = run(
        clinic,
        lambda s: s.scalar(
            text("SELECT id FROM procedures WHERE encounter_id = :e"), {"e": encounter.id}
        ),
    )
    invoice = capture(
        clinic,
        biller,
        encounter.id,
        pointers=[DiagnosisPointers(procedure_id, (2,))],
    )
    charge = run(
        clinic, lambda s: s.scalars(select(Charge).where(Charge.invoice_id == invoice.id)).one()
    )
    hypertension = run(
        clinic,
        lambda s: s.scalar(
            text("SELECT id FROM conditions WHERE encounter_id = :e AND code = 'I10'"),
            {"e": encounter.id},
        ),
    )
    assert charge.diagnosis_ids == [hypertension]


def test_capturing_twice_adds_nothing_and_a_late_procedure_once(
    database: Database, clinic: BillingClinic, biller: Actor
) -> None:
    encounter = clinic.encounter()
    first = capture(clinic, biller, encounter.id)
    again = run(
        clinic,
        lambda s: capture_charges(
            session=s, tenant_id=clinic.tenant.id, encounter_id=encounter.id, actor=biller
        ),
    )
    assert again.created == [] and again.invoice.id == first.id
    assert clinic.counts("invoices", "charges") == {"invoices": 1, "charges": 1}
    # A procedure charted after the first capture is charged by the next one.
    run(
        clinic,
        lambda s: add_procedure(
            session=s,
            tenant_id=clinic.tenant.id,
            encounter_id=encounter.id,
            data=NewProcedure(system=CPT, code="81002", performed_at=encounter.start_at),
            actor=SYSTEM,
        ),
    )
    late = capture(clinic, biller, encounter.id)
    assert late.charges_cents == PAYER_FEES["99213"] + PAYER_FEES["81002"]
    assert clinic.count("charges") == 2
    # One charge per procedure is the database's rule, not only the service's.
    with pytest.raises(DBAPIError) as caught, session_of(clinic) as session:
        session.execute(
            text(
                "INSERT INTO charges SELECT * FROM json_populate_record(NULL::charges, ("
                "SELECT to_jsonb(c) || jsonb_build_object('id', gen_random_uuid()) "
                "FROM charges c LIMIT 1)::json)"
            )
        )
    assert isinstance(caught.value.orig, UniqueViolation)


def test_concurrent_captures_of_one_encounter_charge_once(
    database: Database, clinic: BillingClinic, biller: Actor
) -> None:
    encounter = clinic.encounter(procedures=(VISIT, NewProcedure(system=CPT, code="36415")))
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            capture(clinic, biller, encounter.id)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert clinic.counts("invoices", "charges") == {"invoices": 1, "charges": 2}
    invoice = run(clinic, lambda s: s.scalars(select(Invoice)).one())
    assert invoice.charges_cents == PAYER_FEES["99213"] + PAYER_FEES["36415"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"finish": False}, Conflict, "finished encounters; this one is in_progress"),
        ({"diagnoses": ()}, InvalidInput, "at least one diagnosis pointer"),
        (
            {"diagnoses": (NewCondition(system=ICD10CM, code="E11.9"),)},
            InvalidInput,
            "at least one diagnosis pointer",
        ),
        (
            {"diagnoses": (NewCondition(system=SNOMED, code="44054006", rank=1),)},
            InvalidInput,
            "at least one diagnosis pointer",
        ),
        ({"procedures": ()}, InvalidInput, "no completed CPT or HCPCS procedure"),
        (
            {"procedures": (NewProcedure(system=CPT, code="99215"),)},
            InvalidInput,
            "no fee schedule in effect",
        ),
        (
            {"procedures": (VISIT, NewProcedure(system=HCPCS, code="G0439"))},
            InvalidInput,
            "prices G0439",
        ),
    ],
)
def test_capture_refuses_and_writes_nothing(
    clinic: BillingClinic,
    biller: Actor,
    kwargs: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    encounter = clinic.encounter(**kwargs)
    before = clinic.counts(*LEDGER_TABLES)
    with pytest.raises(error, match=message):
        capture(clinic, biller, encounter.id)
    assert clinic.counts(*LEDGER_TABLES) == before


def test_capture_refuses_pointers_that_name_no_ranked_diagnosis(
    clinic: BillingClinic, biller: Actor
) -> None:
    encounter = clinic.encounter()
    procedure_id = run(
        clinic,
        lambda s: s.scalar(
            text("SELECT id FROM procedures WHERE encounter_id = :e"), {"e": encounter.id}
        ),
    )
    for pointers, message in (
        ([DiagnosisPointers(procedure_id, (3,))], "pointer 3 names no ranked"),
        ([DiagnosisPointers(procedure_id, (1, 1))], "distinct"),
        ([DiagnosisPointers(procedure_id, ())], "at least one"),
        ([DiagnosisPointers(uuid.uuid4(), (1,))], "not an uncharged"),
    ):
        with pytest.raises(InvalidInput, match=message):
            capture(clinic, biller, encounter.id, pointers=pointers)
    assert clinic.count("charges") == 0
    # Not even the database takes a charge without its first pointer (only an imported one,
    # which its source pointed or not, may lack it: migration 0014).
    check = run(
        clinic,
        lambda s: s.scalar(
            text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conname = 'ck_charges_captured_is_priced_and_pointed'"
            )
        ),
    )
    assert "data_source IS NOT NULL" in check and "diagnosis1_id IS NOT NULL" in check


def test_capture_of_another_tenants_encounter_is_not_found(
    database: Database, clinic: BillingClinic, biller: Actor
) -> None:
    other = make_billing_clinic(database=database)
    encounter = other.encounter()
    with pytest.raises(NotFound):
        capture(clinic, biller, encounter.id)
    assert other.count("charges") == 0


# Charges and invoices


def test_a_voided_charge_stays_and_the_ledger_refuses_edits_and_deletes(
    database: Database, clinic: BillingClinic, biller: Actor
) -> None:
    encounter = clinic.encounter(procedures=(VISIT, NewProcedure(system=CPT, code="81002")))
    invoice = capture(clinic, biller, encounter.id)
    charge_id = run(
        clinic,
        lambda s: s.scalars(select(Charge.id).where(Charge.code == "81002")).one(),
    )
    with pytest.raises(InvalidInput, match="reason"):
        run(
            clinic,
            lambda s: void_charge(
                session=s, tenant_id=clinic.tenant.id, charge_id=charge_id, reason=" ", actor=biller
            ),
        )
    voided = run(
        clinic,
        lambda s: void_charge(
            session=s,
            tenant_id=clinic.tenant.id,
            charge_id=charge_id,
            reason="Charted in error",
            actor=biller,
        ),
    )
    assert (voided.status, voided.void_reason, voided.voided_by) == (
        "void",
        "Charted in error",
        biller.user_id,
    )
    assert fresh_invoice(clinic, invoice.id).charges_cents == PAYER_FEES["99213"]
    assert clinic.count("charges") == 2
    with pytest.raises(Conflict, match="already void"):
        run(
            clinic,
            lambda s: void_charge(
                session=s, tenant_id=clinic.tenant.id, charge_id=charge_id, reason="x", actor=biller
            ),
        )
    # The app role may not delete or re-price; not even the owner may delete or un-void.
    for statement, refused in (
        ("DELETE FROM charges WHERE id = :id", InsufficientPrivilege),
        (
            "UPDATE charges SET amount_cents = 1, unit_price_cents = 1 WHERE id = :id",
            InsufficientPrivilege,
        ),
        ("UPDATE invoices SET charges_cents = 0 WHERE id = :invoice", InsufficientPrivilege),
    ):
        with pytest.raises(DBAPIError) as caught, session_of(clinic) as session:
            session.execute(text(statement), {"id": charge_id, "invoice": invoice.id})
        assert isinstance(caught.value.orig, refused), statement
    for statement in (
        "DELETE FROM charges WHERE id = :id",
        "UPDATE charges SET status = 'active', void_reason = NULL, voided_at = NULL WHERE id = :id",
    ):
        with pytest.raises(DBAPIError) as caught, database.owner_engine.begin() as connection:
            connection.execute(text(statement), {"id": charge_id})
        assert isinstance(caught.value.orig, IntegrityConstraintViolation), statement


def test_invoice_void_needs_a_reason_and_is_refused_once_money_was_posted(
    clinic: BillingClinic, biller: Actor
) -> None:
    tenant_id = clinic.tenant.id
    unpaid = capture(clinic, biller, clinic.encounter().id)
    with pytest.raises(InvalidInput, match="reason"):
        run(
            clinic,
            lambda s: void_invoice(
                session=s, tenant_id=tenant_id, invoice_id=unpaid.id, reason="", actor=biller
            ),
        )
    view = run(
        clinic,
        lambda s: void_invoice(
            session=s,
            tenant_id=tenant_id,
            invoice_id=unpaid.id,
            reason="Duplicate visit",
            actor=biller,
        ),
    )
    assert (view.invoice.status, view.invoice.charges_cents, view.invoice.balance_cents) == (
        "void",
        0,
        0,
    )
    assert [c.status for c in view.charges] == ["void"]
    # Payments on a void invoice are refused, and so is capturing onto it.
    before = clinic.counts("payments", "charges")
    with pytest.raises(Conflict, match="void"):
        pay(clinic, biller, unpaid.id, 100)
    assert clinic.counts("payments", "charges") == before

    paid = capture(clinic, biller, clinic.encounter().id)
    pay(clinic, biller, paid.id, 500)
    with pytest.raises(Conflict, match="money was posted"):
        run(
            clinic,
            lambda s: void_invoice(
                session=s, tenant_id=tenant_id, invoice_id=paid.id, reason="x", actor=biller
            ),
        )
    assert fresh_invoice(clinic, paid.id).status == "open"


def test_overpayment_is_refused_by_the_service_and_by_the_database(
    database: Database, clinic: BillingClinic, biller: Actor
) -> None:
    invoice = capture(clinic, biller, clinic.encounter().id)
    pay(clinic, biller, invoice.id, 12_000)
    with pytest.raises(Conflict, match=r"exceeds the invoice balance of 5\.00"):
        pay(clinic, biller, invoice.id, 501)
    assert clinic.count("payments") == 1
    with pytest.raises(DBAPIError) as caught, session_of(clinic) as session:
        session.execute(
            text(
                "INSERT INTO payments (id, tenant_id, patient_id, invoice_id, source, amount_cents,"
                " method, posted_on, posted_at, created_at, updated_at) VALUES (gen_random_uuid(),"
                " :t, :p, :i, 'patient', 501, 'cash', CURRENT_DATE, now(), now(), now())"
            ),
            {"t": clinic.tenant.id, "p": clinic.patient.id, "i": invoice.id},
        )
    assert isinstance(caught.value.orig, CheckViolation)
    pay(clinic, biller, invoice.id, 500)
    final = fresh_invoice(clinic, invoice.id)
    assert (final.balance_cents, final.status) == (0, "paid_in_full")
    with pytest.raises(Conflict, match="exceeds"):
        pay(clinic, biller, invoice.id, 1)


def test_concurrent_payments_cannot_overdraw_an_invoice(
    clinic: BillingClinic, biller: Actor
) -> None:
    invoice = capture(clinic, biller, clinic.encounter().id)  # 125.00
    barrier = threading.Barrier(5)
    outcomes: list[str] = []

    def worker() -> None:
        barrier.wait()
        try:
            pay(clinic, biller, invoice.id, 5_000)
            outcomes.append("paid")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["paid", "paid", "refused", "refused", "refused"]
    assert fresh_invoice(clinic, invoice.id).balance_cents == 2_500


# Claims


def test_claim_lines_carry_diagnosis_pointers_and_npis(
    database: Database, clinic: BillingClinic, biller: Actor
) -> None:
    nurse_practitioner = make_practitioner(database=database, tenant=clinic.tenant, npi=SECOND_NPI)
    encounter = clinic.encounter(
        procedures=(
            VISIT,
            NewProcedure(system=CPT, code="36415", performer_id=nurse_practitioner.id),
        ),
        diagnoses=(DIABETES, HYPERTENSION),
    )
    procedures: dict[str, uuid.UUID] = dict(
        run(
            clinic,
            lambda s: s.execute(
                text("SELECT code, id FROM procedures WHERE encounter_id = :e"),
                {"e": encounter.id},
            ).all(),
        )
    )
    invoice = capture(
        clinic,
        biller,
        encounter.id,
        pointers=[DiagnosisPointers(procedures["36415"], (2,))],
    )
    view = run(
        clinic,
        lambda s: create_claim(
            session=s, tenant_id=clinic.tenant.id, invoice_id=invoice.id, actor=biller
        ),
    )
    claim = view.claim
    assert (claim.status, claim.frequency_code, claim.place_of_service) == ("draft", "1", "11")
    assert (claim.billing_npi, claim.rendering_npi) == ("1234567893", "1234567893")
    assert claim.member_id == "W123456789" and claim.payer_id == clinic.payer.id
    assert claim.total_charge_cents == PAYER_FEES["99213"] + PAYER_FEES["36415"]
    assert [(d.pointer, d.code) for d in view.diagnoses] == [(1, "E11.9"), (2, "I10")]
    lines = {line.code: line for line in view.lines}
    assert lines["99213"].diagnosis_pointers == [1, 2]
    assert lines["36415"].diagnosis_pointers == [2]
    assert lines["36415"].rendering_npi == SECOND_NPI
    assert [e.action for e in view.events] == ["create"]
    # One live claim per invoice and coverage.
    with pytest.raises(Conflict, match="live claim"):
        run(
            clinic,
            lambda s: create_claim(
                session=s, tenant_id=clinic.tenant.id, invoice_id=invoice.id, actor=biller
            ),
        )


def test_claims_need_a_coverage_and_rendering_npis(database: Database) -> None:
    clinic = make_billing_clinic(database=database, insured=False)
    actor = Actor(user_id=None, role="billing")
    invoice = capture(clinic, actor, clinic.encounter().id)
    with pytest.raises(InvalidInput, match="self-pay"):
        run(
            clinic,
            lambda s: create_claim(
                session=s, tenant_id=clinic.tenant.id, invoice_id=invoice.id, actor=actor
            ),
        )
    lapsed = make_coverage(
        database=database,
        tenant=clinic.tenant,
        patient=clinic.patient,
        payer=clinic.payer,
        period_start=date(2020, 1, 1),
        period_end=date(2020, 12, 31),
    )
    with pytest.raises(InvalidInput, match="not in effect"):
        run(
            clinic,
            lambda s: create_claim(
                session=s,
                tenant_id=clinic.tenant.id,
                invoice_id=invoice.id,
                coverage_id=lapsed.id,
                actor=actor,
            ),
        )
    no_npi = make_practitioner(database=database, tenant=clinic.tenant)
    uninsured_visit = capture(clinic, actor, clinic.encounter(practitioner=no_npi).id)
    current = make_coverage(
        database=database,
        tenant=clinic.tenant,
        patient=clinic.patient,
        payer=clinic.payer,
        period_start=date(2021, 1, 1),
        member_id="NEW1",
    )
    with pytest.raises(InvalidInput, match="no NPI"):
        run(
            clinic,
            lambda s: create_claim(
                session=s,
                tenant_id=clinic.tenant.id,
                invoice_id=uninsured_visit.id,
                coverage_id=current.id,
                actor=actor,
            ),
        )
    assert clinic.count("claims") == 0


def test_illegal_claim_transitions_conflict_and_the_database_refuses_them(
    database: Database, clinic: BillingClinic, biller: Actor
) -> None:
    tenant_id = clinic.tenant.id
    gateway = OfflineClaimGateway()
    invoice = capture(clinic, biller, clinic.encounter().id)
    draft = run(
        clinic,
        lambda s: create_claim(session=s, tenant_id=tenant_id, invoice_id=invoice.id, actor=biller),
    ).claim

    def accept(s: Session) -> object:
        return accept_claim(session=s, tenant_id=tenant_id, claim_id=draft.id, actor=biller)

    def deny(s: Session) -> object:
        return deny_claim(
            session=s, tenant_id=tenant_id, claim_id=draft.id, reason_code="CO-16", actor=biller
        )

    def submit(s: Session) -> object:
        return submit_claim(
            session=s, tenant_id=tenant_id, claim_id=draft.id, gateway=gateway, actor=biller
        )

    def resubmit(s: Session) -> object:
        return resubmit_claim(
            session=s, tenant_id=tenant_id, claim_id=draft.id, gateway=gateway, actor=biller
        )

    for illegal in (accept, deny, resubmit):
        with pytest.raises(Conflict, match="draft"):
            run(clinic, illegal)
    run(clinic, submit)
    with pytest.raises(Conflict, match="submitted"):
        run(clinic, submit)
    run(clinic, accept)
    with pytest.raises(Conflict, match="accepted"):
        run(clinic, accept)
    assert len(gateway.submissions) == 1
    events = run(
        clinic,
        lambda s: s.execute(
            select(ClaimEvent.action, ClaimEvent.from_status, ClaimEvent.to_status)
            .where(ClaimEvent.claim_id == draft.id)
            .order_by(ClaimEvent.occurred_at)
        ).all(),
    )
    assert [tuple(event) for event in events] == [
        ("create", None, "draft"),
        ("submit", "draft", "submitted"),
        ("accept", "submitted", "accepted"),
    ]
    # Whoever writes, accepted cannot go back to draft, and a submitted claim's lines stay.
    with pytest.raises(DBAPIError) as caught, database.owner_engine.begin() as connection:
        connection.execute(
            text("UPDATE claims SET status = 'draft' WHERE id = :id"), {"id": draft.id}
        )
    assert isinstance(caught.value.orig, CheckViolation)
    with pytest.raises(DBAPIError) as caught, session_of(clinic) as session:
        session.execute(
            text("UPDATE claims SET total_charge_cents = 1 WHERE id = :id"), {"id": draft.id}
        )
    assert isinstance(caught.value.orig, InsufficientPrivilege)


@pytest.mark.parametrize(
    ("reason", "remark", "message"),
    [
        ("CO-999", None, "unknown claim adjustment reason"),
        ("XX-16", None, "group code"),
        ("16", None, "e.g."),
        ("CO-16", "ZZ999", "unknown remittance advice remark"),
    ],
)
def test_denials_need_known_codes(
    clinic: BillingClinic, biller: Actor, reason: str, remark: str | None, message: str
) -> None:
    claim = claimed(
        clinic, biller, capture(clinic, biller, clinic.encounter().id), OfflineClaimGateway()
    )
    with pytest.raises(InvalidInput, match=message):
        run(
            clinic,
            lambda s: deny_claim(
                session=s,
                tenant_id=clinic.tenant.id,
                claim_id=claim.id,
                reason_code=reason,
                remark_code=remark,
                actor=biller,
            ),
        )
    assert run(clinic, lambda s: s.get_one(Claim, claim.id)).status == "accepted"


def test_a_denied_claim_is_replaced_once_by_a_frequency_7_claim(
    clinic: BillingClinic, biller: Actor
) -> None:
    tenant_id = clinic.tenant.id
    gateway = OfflineClaimGateway()
    original = claimed(clinic, biller, capture(clinic, biller, clinic.encounter().id), gateway)
    run(
        clinic,
        lambda s: deny_claim(
            session=s,
            tenant_id=tenant_id,
            claim_id=original.id,
            reason_code="co-197",
            remark_code="n290",
            actor=biller,
        ),
    )
    replacement = run(
        clinic,
        lambda s: resubmit_claim(
            session=s, tenant_id=tenant_id, claim_id=original.id, gateway=gateway, actor=biller
        ),
    ).claim
    assert (replacement.frequency_code, replacement.original_claim_id) == ("7", original.id)
    assert replacement.status == "submitted" and replacement.tracking_id
    sent = gateway.submissions[-1]
    assert sent["frequency_code"] == "7"
    assert sent["original_claim"]["submission_id"] == str(original.id)
    view = run(
        clinic,
        lambda s: read_claim(session=s, tenant_id=tenant_id, claim_id=original.id, actor=biller),
    )
    assert (view.claim.denial_group_code, view.claim.denial_reason_code) == ("CO", "197")
    assert view.claim.denial_remark_code == "N290"
    assert [(e.action, e.reason_code, e.actor_user_id) for e in view.events][-2:] == [
        ("deny", "CO-197", biller.user_id),
        ("replace", None, biller.user_id),
    ]
    with pytest.raises(Conflict, match="already resubmitted"):
        run(
            clinic,
            lambda s: resubmit_claim(
                session=s, tenant_id=tenant_id, claim_id=original.id, gateway=gateway, actor=biller
            ),
        )
    assert clinic.count("claims") == 2


# Remittances and adjustments


def test_a_remittance_with_one_invalid_claim_writes_nothing(
    clinic: BillingClinic, biller: Actor
) -> None:
    gateway = OfflineClaimGateway()
    good = claimed(clinic, biller, capture(clinic, biller, clinic.encounter().id), gateway)
    unaccepted = claimed(
        clinic, biller, capture(clinic, biller, clinic.encounter().id), gateway, accept=False
    )
    paid_in_full = RemittedClaim(good.id, 10_000, (CasAdjustment("CO", "45", 2_500),))
    before = clinic.counts(*LEDGER_TABLES)
    for second, error, message in (
        (RemittedClaim(unaccepted.id, 100), Conflict, r"claims\[1\]: .*submitted"),
        (RemittedClaim(uuid.uuid4(), 100), InvalidInput, r"claims\[1\]: not a claim"),
        (
            RemittedClaim(good.id, 100),
            InvalidInput,
            "each claim once",
        ),
        (
            RemittedClaim(unaccepted.id, 100, (CasAdjustment("CO", "9999", 1),)),
            InvalidInput,
            r"claims\[1\]: unknown claim adjustment",
        ),
        (RemittedClaim(unaccepted.id, 0), InvalidInput, "a payment or an adjustment"),
    ):
        with pytest.raises(error, match=message):
            remit(clinic, biller, [paid_in_full, second])
    over = RemittedClaim(good.id, 12_000, (CasAdjustment("CO", "45", 1_000),))
    with pytest.raises(Conflict, match="exceeds what remains"):
        remit(clinic, biller, [over])
    assert clinic.counts(*LEDGER_TABLES) == before
    remit(clinic, biller, [paid_in_full], reference="EFT-ONCE")
    with pytest.raises(Conflict, match="already posted"):
        remit(clinic, biller, [RemittedClaim(good.id, 1)], reference="EFT-ONCE")
    assert run(clinic, lambda s: s.get_one(Claim, good.id)).status == "paid"


def test_partial_payment_then_the_rest(clinic: BillingClinic, biller: Actor) -> None:
    claim = claimed(
        clinic, biller, capture(clinic, biller, clinic.encounter().id), OfflineClaimGateway()
    )
    remit(clinic, biller, [RemittedClaim(claim.id, 6_000)])
    assert run(clinic, lambda s: s.get_one(Claim, claim.id)).status == "partially_paid"
    remit(
        clinic,
        biller,
        [
            RemittedClaim(
                claim.id, 4_000, (CasAdjustment("CO", "45", 1_500), CasAdjustment("PR", "3", 1_000))
            )
        ],
    )
    assert run(clinic, lambda s: s.get_one(Claim, claim.id)).status == "paid"
    invoice = fresh_invoice(clinic, claim.invoice_id)
    assert (invoice.payments_cents, invoice.adjustments_cents) == (10_000, 1_500)
    assert (invoice.balance_cents, invoice.patient_responsibility_cents) == (1_000, 1_000)


@pytest.mark.parametrize(
    ("kind", "group", "reason", "message"),
    [
        ("patient_responsibility", "CO", "45", "group code PR"),
        ("contractual", "PR", "1", "group code PR"),
        ("write_off", "ZZ", "45", "group code must be"),
        ("goodwill", "CO", "45", "kind must be"),
        ("write_off", "CO", "777", "unknown claim adjustment"),
    ],
)
def test_adjustments_need_a_matching_group_and_known_reason(
    clinic: BillingClinic, biller: Actor, kind: str, group: str, reason: str, message: str
) -> None:
    invoice = capture(clinic, biller, clinic.encounter().id)
    with pytest.raises(InvalidInput, match=message):
        run(
            clinic,
            lambda s: post_adjustment(
                session=s,
                tenant_id=clinic.tenant.id,
                data=NewAdjustment(
                    invoice_id=invoice.id,
                    kind=kind,
                    group_code=group,
                    reason_code=reason,
                    amount_cents=100,
                    posted_on=TODAY,
                ),
                actor=biller,
            ),
        )
    assert clinic.count("adjustments") == 0


def test_payment_amounts_must_be_whole_positive_cents(clinic: BillingClinic, biller: Actor) -> None:
    invoice = capture(clinic, biller, clinic.encounter().id)
    for cents in (0, -100, 100_000_001, 12.5, True):
        with pytest.raises(InvalidInput):
            pay(clinic, biller, invoice.id, cents)  # type: ignore[arg-type]
    assert clinic.count("payments") == 0


# The whole revenue cycle


def test_revenue_cycle_from_capture_to_a_zero_balance(
    database: Database, clinic: BillingClinic, biller: Actor
) -> None:
    tenant_id = clinic.tenant.id
    gateway = OfflineClaimGateway()
    encounter = clinic.encounter(
        procedures=(VISIT, NewProcedure(system=CPT, code="36415")),
        diagnoses=(DIABETES, HYPERTENSION),
    )
    invoice = capture(clinic, biller, encounter.id)
    assert (invoice.charges_cents, invoice.status) == (14_000, "open")

    claim = run(
        clinic,
        lambda s: create_claim(session=s, tenant_id=tenant_id, invoice_id=invoice.id, actor=biller),
    ).claim
    run(
        clinic,
        lambda s: submit_claim(
            session=s, tenant_id=tenant_id, claim_id=claim.id, gateway=gateway, actor=biller
        ),
    )
    denied = run(
        clinic,
        lambda s: deny_claim(
            session=s,
            tenant_id=tenant_id,
            claim_id=claim.id,
            reason_code="CO-16",
            remark_code="MA130",
            actor=biller,
        ),
    )
    assert denied.claim.status == "denied"
    replacement = run(
        clinic,
        lambda s: resubmit_claim(
            session=s, tenant_id=tenant_id, claim_id=claim.id, gateway=gateway, actor=biller
        ),
    ).claim
    run(
        clinic,
        lambda s: accept_claim(
            session=s,
            tenant_id=tenant_id,
            claim_id=replacement.id,
            payer_claim_number="PCN-2026-0001",
            actor=biller,
        ),
    )
    # The payer allows 120.00 of 140.00, pays 100.00 and leaves 20.00 coinsurance.
    remit(
        clinic,
        biller,
        [
            RemittedClaim(
                replacement.id,
                10_000,
                (CasAdjustment("CO", "45", 2_000), CasAdjustment("PR", "2", 2_000)),
            )
        ],
    )
    after_payer = fresh_invoice(clinic, invoice.id)
    assert (after_payer.balance_cents, after_payer.patient_responsibility_cents) == (2_000, 2_000)
    balance = run(
        clinic,
        lambda s: patient_balance(
            session=s, tenant_id=tenant_id, patient_id=clinic.patient.id, actor=biller
        ),
    )
    assert (balance.patient_due_cents, balance.insurance_due_cents) == (2_000, 0)

    pay(clinic, biller, invoice.id, 2_000)
    final = fresh_invoice(clinic, invoice.id)
    assert (final.balance_cents, final.status) == (0, "paid_in_full")
    statement = run(
        clinic,
        lambda s: patient_statement(
            session=s, tenant_id=tenant_id, patient_id=clinic.patient.id, actor=biller
        ),
    )
    assert statement.balance.balance_cents == statement.balance.patient_due_cents == 0
    [view] = statement.invoices
    assert sorted((p.source, p.amount_cents) for p in view.payments) == [
        ("patient", 2_000),
        ("payer", 10_000),
    ]
    assert sorted((a.group_code, a.reason_code, a.kind) for a in view.adjustments) == [
        ("CO", "45", "contractual"),
        ("PR", "2", "patient_responsibility"),
    ]
    assert run(clinic, lambda s: s.get_one(Claim, replacement.id)).status == "paid"
    assert [s["frequency_code"] for s in gateway.submissions] == ["1", "7"]


# Reconciliation, aging and audit


def test_every_balance_reconciles_with_the_ledger_in_sql(
    database: Database, clinic: BillingClinic, biller: Actor
) -> None:
    """Invoice balance = active charges - payments - balance-reducing adjustments, computed
    here in SQL from the ledger rows, for a mix of paid, partly paid, void and adjusted."""
    gateway = OfflineClaimGateway()
    invoices = [
        capture(
            clinic,
            biller,
            clinic.encounter(procedures=(VISIT, NewProcedure(system=CPT, code="81002"))).id,
        )
        for _ in range(4)
    ]
    pay(clinic, biller, invoices[0].id, 3_300)
    claim = claimed(clinic, biller, invoices[1], gateway)
    remit(
        clinic,
        biller,
        [
            RemittedClaim(
                claim.id, 11_800, (CasAdjustment("CO", "45", 1_000), CasAdjustment("PR", "1", 500))
            )
        ],
    )
    pay(clinic, biller, invoices[1].id, 500)
    charge_id = run(
        clinic,
        lambda s: s.scalars(
            select(Charge.id).where(Charge.invoice_id == invoices[2].id, Charge.code == "81002")
        ).one(),
    )
    run(
        clinic,
        lambda s: void_charge(
            session=s, tenant_id=clinic.tenant.id, charge_id=charge_id, reason="x", actor=biller
        ),
    )
    run(
        clinic,
        lambda s: void_invoice(
            session=s,
            tenant_id=clinic.tenant.id,
            invoice_id=invoices[3].id,
            reason="y",
            actor=biller,
        ),
    )
    rows = run(
        clinic,
        lambda s: s.execute(
            text(
                """
                SELECT i.id, i.balance_cents, i.status,
                  (SELECT coalesce(sum(amount_cents), 0) FROM charges c
                    WHERE c.invoice_id = i.id AND c.status = 'active')
                  - (SELECT coalesce(sum(amount_cents), 0) FROM payments p
                    WHERE p.invoice_id = i.id)
                  - (SELECT coalesce(sum(amount_cents), 0) FROM adjustments a
                    WHERE a.invoice_id = i.id AND a.kind <> 'patient_responsibility')
                  AS ledger_balance
                FROM invoices i ORDER BY i.service_date, i.created_at
                """
            )
        ).all(),
    )
    assert len(rows) == 4
    for row in rows:
        assert row.balance_cents == row.ledger_balance >= 0
    by_id = {row.id: row for row in rows}
    assert by_id[invoices[0].id].ledger_balance == 13_300 - 3_300
    assert (
        by_id[invoices[1].id].ledger_balance == 0 and by_id[invoices[1].id].status == "paid_in_full"
    )
    assert by_id[invoices[2].id].ledger_balance == 12_500
    assert (by_id[invoices[3].id].ledger_balance, by_id[invoices[3].id].status) == (0, "void")
    balance = run(
        clinic,
        lambda s: patient_balance(
            session=s, tenant_id=clinic.tenant.id, patient_id=clinic.patient.id, actor=biller
        ),
    )
    assert balance.balance_cents == sum(row.ledger_balance for row in rows)
    assert balance.patient_due_cents + balance.insurance_due_cents == balance.balance_cents


def test_aging_counts_days_since_the_date_of_service(database: Database) -> None:
    clinic = make_billing_clinic(database=database, insured=False)
    actor = Actor(user_id=None, role="billing")
    long_ago = datetime.now(UTC) - timedelta(days=100)
    capture(clinic, actor, clinic.encounter(started=long_ago).id)
    capture(clinic, actor, clinic.encounter().id)
    balance = run(
        clinic,
        lambda s: patient_balance(
            session=s, tenant_id=clinic.tenant.id, patient_id=clinic.patient.id, actor=actor
        ),
    )
    aging = {bucket.label: bucket.patient_due_cents for bucket in balance.aging}
    assert aging == {
        "0-30": DEFAULT_FEES["99213"],
        "31-60": 0,
        "61-90": 0,
        "91-120": DEFAULT_FEES["99213"],
        "over-120": 0,
    }
    assert balance.insurance_due_cents == 0


def test_financial_reads_and_writes_are_audited_with_the_patient(
    clinic: BillingClinic, biller: Actor
) -> None:
    invoice = capture(clinic, biller, clinic.encounter().id)
    pay(clinic, biller, invoice.id, 100)
    run(
        clinic,
        lambda s: read_invoice(
            session=s, tenant_id=clinic.tenant.id, invoice_id=invoice.id, actor=biller
        ),
    )
    run(
        clinic,
        lambda s: patient_statement(
            session=s, tenant_id=clinic.tenant.id, patient_id=clinic.patient.id, actor=biller
        ),
    )
    events = run(
        clinic,
        lambda s: s.execute(
            select(AuditEvent.action, AuditEvent.patient_id, AuditEvent.actor_user_id).where(
                AuditEvent.actor_user_id == biller.user_id
            )
        ).all(),
    )
    actions = {action for action, _, _ in events}
    assert {"charge.capture", "payment.post", "invoice.read", "statement.read"} <= actions
    assert {patient for _, patient, _ in events} == {clinic.patient.id}
