import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.factories.identity import make_tenant, make_user
from tests.factories.medications import actor_of, make_prescription, receive_lot
from tests.factories.patients import make_patient
from tests.factories.scheduling import make_location, tenant_session
from transactional.audit.models import AuditEvent
from transactional.base import utcnow
from transactional.database import Database
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.identity.models import Tenant, User
from transactional.identity.roles import Role
from transactional.medications.models import Prescription
from transactional.medications.workflow import transition
from transactional.patients.models import Patient
from transactional.pharmacy.dispensing import DispenseRequest, dispense
from transactional.pharmacy.models import StockLot, StockMovement
from transactional.pharmacy.stock import Receipt, on_hand, receive, reorder_alerts
from transactional.providers.models import Location

LISINOPRIL_10 = "314076"
ACETAMINOPHEN_500 = "198440"


@dataclass(frozen=True)
class Pharmacy:
    tenant: Tenant
    location: Location
    physician: User
    pharmacist: User
    patient: Patient


@pytest.fixture
def pharmacy(database: Database) -> Pharmacy:
    tenant = make_tenant(database=database)
    return Pharmacy(
        tenant,
        make_location(database=database, tenant=tenant),
        make_user(database=database, tenant=tenant, role=Role.PHYSICIAN),
        make_user(database=database, tenant=tenant, role=Role.PHARMACIST),
        make_patient(database=database, tenant=tenant),
    )


def order(
    database: Database,
    pharmacy: Pharmacy,
    *,
    code: str = LISINOPRIL_10,
    quantity: int = 30,
    refills: int = 0,
    patient: Patient | None = None,
) -> Prescription:
    return make_prescription(
        database=database,
        tenant=pharmacy.tenant,
        patient=patient or pharmacy.patient,
        prescriber=pharmacy.physician,
        code=code,
        quantity=quantity,
        refills=refills,
    ).prescription


def give(
    database: Database,
    pharmacy: Pharmacy,
    prescription: Prescription,
    quantity: int | str,
    lot_id: uuid.UUID | None = None,
) -> list[tuple[str, Decimal]]:
    with tenant_session(database=database, tenant=pharmacy.tenant) as session:
        result = dispense(
            session=session,
            tenant_id=pharmacy.tenant.id,
            request=DispenseRequest(
                prescription_id=prescription.id, quantity=Decimal(quantity), lot_id=lot_id
            ),
            actor=actor_of(pharmacy.pharmacist),
        )
        return [(p.lot.lot_number, p.quantity) for p in result.portions]


def lot_quantities(database: Database, pharmacy: Pharmacy) -> dict[str, Decimal]:
    with tenant_session(database=database, tenant=pharmacy.tenant) as session:
        return {
            lot.lot_number: lot.quantity_on_hand
            for lot in session.scalars(select(StockLot).order_by(StockLot.lot_number))
        }


def reload(database: Database, pharmacy: Pharmacy, prescription: Prescription) -> Prescription:
    with tenant_session(database=database, tenant=pharmacy.tenant) as session:
        found = session.get(Prescription, prescription.id)
        assert found is not None
        return found


def test_dispensing_takes_the_first_expiring_lot_first(
    database: Database, pharmacy: Pharmacy
) -> None:
    for lot, days in (("LATE", 300), ("SOON", 30), ("MIDDLE", 90)):
        receive_lot(
            database=database,
            tenant=pharmacy.tenant,
            location=pharmacy.location,
            code=LISINOPRIL_10,
            quantity=10,
            lot_number=lot,
            expires_in_days=days,
        )
    prescription = order(database, pharmacy, quantity=25)

    taken = give(database, pharmacy, prescription, 15)

    assert taken == [("SOON", Decimal(10)), ("MIDDLE", Decimal(5))]
    assert lot_quantities(database, pharmacy) == {
        "LATE": Decimal(10),
        "MIDDLE": Decimal(5),
        "SOON": Decimal(0),
    }
    partial = reload(database, pharmacy, prescription)
    assert (partial.status, partial.dispensed_quantity) == ("partially_dispensed", Decimal(15))
    assert give(database, pharmacy, prescription, 10) == [
        ("MIDDLE", Decimal(5)),
        ("LATE", Decimal(5)),
    ]
    assert reload(database, pharmacy, prescription).status == "dispensed"


def test_a_named_lot_is_used_and_an_expired_lot_never_dispensed(
    database: Database, pharmacy: Pharmacy
) -> None:
    fresh = receive_lot(
        database=database,
        tenant=pharmacy.tenant,
        location=pharmacy.location,
        code=LISINOPRIL_10,
        quantity=20,
        lot_number="FRESH",
        expires_in_days=200,
    )
    aging = receive_lot(
        database=database,
        tenant=pharmacy.tenant,
        location=pharmacy.location,
        code=LISINOPRIL_10,
        quantity=50,
        lot_number="AGING",
        expires_in_days=5,
    )
    with tenant_session(database=database, tenant=pharmacy.tenant) as session:
        session.execute(
            update(StockLot)
            .where(StockLot.id == aging.id)
            .values(expiry_date=utcnow().date() - timedelta(days=1))
        )
    prescription = order(database, pharmacy, quantity=30)

    with pytest.raises(Conflict, match="expired"):
        give(database, pharmacy, prescription, 5, lot_id=aging.id)
    with pytest.raises(Conflict, match="only 20 in stock"):
        give(database, pharmacy, prescription, 25)
    assert give(database, pharmacy, prescription, 5, lot_id=fresh.id) == [("FRESH", Decimal(5))]
    assert lot_quantities(database, pharmacy) == {"AGING": Decimal(50), "FRESH": Decimal(15)}


def test_concurrent_dispenses_of_the_last_units_never_oversell(
    database: Database, pharmacy: Pharmacy
) -> None:
    receive_lot(
        database=database,
        tenant=pharmacy.tenant,
        location=pharmacy.location,
        code=LISINOPRIL_10,
        quantity=5,
        lot_number="LAST",
    )
    attempts = 8
    patients = [make_patient(database=database, tenant=pharmacy.tenant) for _ in range(attempts)]
    orders = [order(database, pharmacy, quantity=2, patient=p) for p in patients]
    ready = threading.Barrier(attempts)

    def attempt(prescription: Prescription) -> Decimal:
        try:
            with tenant_session(database=database, tenant=pharmacy.tenant) as session:
                ready.wait(timeout=30)
                result = dispense(
                    session=session,
                    tenant_id=pharmacy.tenant.id,
                    request=DispenseRequest(prescription_id=prescription.id, quantity=Decimal(1)),
                    actor=actor_of(pharmacy.pharmacist),
                )
                return sum((p.quantity for p in result.portions), Decimal(0))
        except Conflict:
            return Decimal(0)

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        dispensed = list(pool.map(attempt, orders))

    assert sum(dispensed) == 5
    assert sorted(dispensed) == [Decimal(0)] * 3 + [Decimal(1)] * 5
    assert lot_quantities(database, pharmacy) == {"LAST": Decimal(0)}
    with tenant_session(database=database, tenant=pharmacy.tenant) as session:
        ledger = session.scalar(
            select(func.sum(StockMovement.quantity)).where(StockMovement.kind == "dispense")
        )
    assert ledger == 5


def test_concurrent_dispenses_of_one_prescription_never_exceed_what_was_prescribed(
    database: Database, pharmacy: Pharmacy
) -> None:
    receive_lot(
        database=database,
        tenant=pharmacy.tenant,
        location=pharmacy.location,
        code=LISINOPRIL_10,
        quantity=100,
        lot_number="BIG",
    )
    prescription = order(database, pharmacy, quantity=3, refills=1)
    attempts = 6
    ready = threading.Barrier(attempts)

    def attempt(_: int) -> bool:
        try:
            with tenant_session(database=database, tenant=pharmacy.tenant) as session:
                ready.wait(timeout=30)
                dispense(
                    session=session,
                    tenant_id=pharmacy.tenant.id,
                    request=DispenseRequest(prescription_id=prescription.id, quantity=Decimal(2)),
                    actor=actor_of(pharmacy.pharmacist),
                )
                return True
        except Conflict:
            return False

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        outcomes = list(pool.map(attempt, range(attempts)))

    assert outcomes.count(True) == 3
    final = reload(database, pharmacy, prescription)
    assert (final.dispensed_quantity, final.status) == (Decimal(6), "dispensed")
    assert lot_quantities(database, pharmacy) == {"BIG": Decimal(94)}


def test_dispensing_more_than_prescribed_or_against_a_stopped_order_is_refused(
    database: Database, pharmacy: Pharmacy
) -> None:
    receive_lot(
        database=database,
        tenant=pharmacy.tenant,
        location=pharmacy.location,
        code=LISINOPRIL_10,
        quantity=100,
        lot_number="A1",
    )
    prescription = order(database, pharmacy, quantity=10, refills=2)
    with pytest.raises(Conflict, match="only 30 of the prescribed 30"):
        give(database, pharmacy, prescription, 31)
    give(database, pharmacy, prescription, 30)
    with pytest.raises(Conflict, match="dispensed"):
        give(database, pharmacy, prescription, 1)
    with pytest.raises(InvalidInput, match="positive"):
        give(database, pharmacy, order(database, pharmacy), 0)

    stopped = order(database, pharmacy)
    with tenant_session(database=database, tenant=pharmacy.tenant) as session:
        transition(
            session=session,
            tenant_id=pharmacy.tenant.id,
            prescription_id=stopped.id,
            action="stop",
            reason="Hypotension",
            actor=actor_of(pharmacy.physician),
        )
    with pytest.raises(Conflict, match="stopped"):
        give(database, pharmacy, stopped, 1)
    assert lot_quantities(database, pharmacy) == {"A1": Decimal(70)}


def test_an_ingredient_order_is_filled_from_a_product_of_that_ingredient(
    database: Database, pharmacy: Pharmacy
) -> None:
    receive_lot(
        database=database,
        tenant=pharmacy.tenant,
        location=pharmacy.location,
        code=ACETAMINOPHEN_500,
        quantity=40,
        lot_number="APAP",
    )
    generic = order(database, pharmacy, code="161", quantity=20)
    other = order(database, pharmacy, code="29046", quantity=20)

    assert give(database, pharmacy, generic, 20) == [("APAP", Decimal(20))]
    with pytest.raises(Conflict, match="not stocked"):
        give(database, pharmacy, other, 1)


def test_the_database_refuses_negative_stock_and_app_edits_of_the_ledger(
    database: Database, pharmacy: Pharmacy
) -> None:
    lot = receive_lot(
        database=database,
        tenant=pharmacy.tenant,
        location=pharmacy.location,
        code=LISINOPRIL_10,
        quantity=3,
        lot_number="GUARD",
    )
    with (
        pytest.raises(IntegrityError, match="on_hand_not_negative"),
        tenant_session(database=database, tenant=pharmacy.tenant) as session,
    ):
        session.execute(update(StockLot).where(StockLot.id == lot.id).values(quantity_on_hand=-1))
    with (
        pytest.raises(DBAPIError, match="permission denied"),
        tenant_session(database=database, tenant=pharmacy.tenant) as session,
    ):
        session.execute(text("UPDATE stock_movements SET quantity = 99"))


def test_receiving_validates_and_tops_up_a_lot(database: Database, pharmacy: Pharmacy) -> None:
    receive_lot(
        database=database,
        tenant=pharmacy.tenant,
        location=pharmacy.location,
        code=LISINOPRIL_10,
        quantity=10,
        lot_number="TOP",
        expires_in_days=100,
    )
    receive_lot(
        database=database,
        tenant=pharmacy.tenant,
        location=pharmacy.location,
        code=LISINOPRIL_10,
        quantity=5,
        lot_number="TOP",
        expires_in_days=100,
    )
    assert lot_quantities(database, pharmacy) == {"TOP": Decimal(15)}
    cases: list[tuple[dict[str, object], type[Exception], str]] = [
        ({"expires_in_days": 0}, InvalidInput, "expiry_date"),
        ({"expires_in_days": 50}, Conflict, "another expiry"),
        ({"quantity": 0}, InvalidInput, "positive"),
        ({"code": "29046"}, InvalidInput, "not a clinical drug"),
    ]
    for overrides, error, message in cases:
        values: dict[str, object] = {
            "code": LISINOPRIL_10,
            "quantity": 5,
            "expires_in_days": 100,
        } | overrides
        with pytest.raises(error, match=message):
            receive_lot(
                database=database,
                tenant=pharmacy.tenant,
                location=pharmacy.location,
                lot_number="TOP",
                **values,  # type: ignore[arg-type]
            )
    assert lot_quantities(database, pharmacy) == {"TOP": Decimal(15)}


def test_reorder_alerts_count_only_unexpired_stock(database: Database, pharmacy: Pharmacy) -> None:
    ok = receive_lot(
        database=database,
        tenant=pharmacy.tenant,
        location=pharmacy.location,
        code=LISINOPRIL_10,
        quantity=30,
        lot_number="OK",
        reorder_threshold=20,
    )
    receive_lot(
        database=database,
        tenant=pharmacy.tenant,
        location=pharmacy.location,
        code=ACETAMINOPHEN_500,
        quantity=10,
        lot_number="LOW",
        reorder_threshold=10,
    )
    with tenant_session(database=database, tenant=pharmacy.tenant) as session:
        alerts = reorder_alerts(session=session, tenant_id=pharmacy.tenant.id)
        assert [(a.item.medication_code, a.on_hand) for a in alerts] == [
            (ACETAMINOPHEN_500, Decimal(10))
        ]
        session.execute(
            update(StockLot)
            .where(StockLot.id == ok.id)
            .values(expiry_date=utcnow().date() - timedelta(days=1))
        )
        alerts = reorder_alerts(session=session, tenant_id=pharmacy.tenant.id)
        assert {(a.item.medication_code, a.on_hand) for a in alerts} == {
            (ACETAMINOPHEN_500, Decimal(10)),
            (LISINOPRIL_10, Decimal(0)),
        }
        assert (
            on_hand(session=session, tenant_id=pharmacy.tenant.id, stock_item_id=ok.stock_item_id)
            == 0
        )


def test_dispensing_is_audited_with_the_patient_and_tenants_are_isolated(
    database: Database, pharmacy: Pharmacy
) -> None:
    lot = receive_lot(
        database=database,
        tenant=pharmacy.tenant,
        location=pharmacy.location,
        code=LISINOPRIL_10,
        quantity=10,
        lot_number="AUD",
    )
    prescription = order(database, pharmacy, quantity=4)
    give(database, pharmacy, prescription, 4)
    with tenant_session(database=database, tenant=pharmacy.tenant) as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "pharmacy.dispense")
        ).one()
        receipt = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "stock.receive")
        ).one()
    assert event.patient_id == pharmacy.patient.id
    assert event.resource_id == str(prescription.id)
    assert event.detail["lots"] == [str(lot.id)] and event.detail["quantity"] == "4"
    assert receipt.patient_id is None and receipt.resource_id == str(lot.id)

    stranger = make_tenant(database=database)
    with tenant_session(database=database, tenant=stranger) as session:
        assert session.scalar(select(func.count()).select_from(StockLot)) == 0
        with pytest.raises(NotFound):
            dispense(
                session=session,
                tenant_id=stranger.id,
                request=DispenseRequest(prescription_id=prescription.id, quantity=Decimal(1)),
                actor=actor_of(pharmacy.pharmacist),
            )
        with pytest.raises(NotFound):
            receive(
                session=session,
                tenant_id=stranger.id,
                data=Receipt(
                    lot_number="X",
                    expiry_date=utcnow().date() + timedelta(days=30),
                    quantity=Decimal(1),
                    stock_item_id=lot.stock_item_id,
                ),
                actor=actor_of(pharmacy.pharmacist),
            )


def test_a_prescription_in_another_unit_is_not_filled_from_this_stock(
    database: Database, pharmacy: Pharmacy
) -> None:
    receive_lot(
        database=database,
        tenant=pharmacy.tenant,
        location=pharmacy.location,
        code=LISINOPRIL_10,
        quantity=30,
        lot_number="TABS",
    )
    in_ml = make_prescription(
        database=database,
        tenant=pharmacy.tenant,
        patient=pharmacy.patient,
        prescriber=pharmacy.physician,
        code=LISINOPRIL_10,
        quantity="150 mL",
    ).prescription

    with pytest.raises(Conflict, match="unit"):
        give(database, pharmacy, in_ml, 5)
    assert lot_quantities(database, pharmacy) == {"TABS": Decimal(30)}
