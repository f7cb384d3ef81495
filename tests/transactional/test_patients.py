import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.factories.identity import make_tenant
from tests.factories.patients import make_patient
from transactional.audit.trail import SYSTEM
from transactional.base import utcnow
from transactional.database import Database
from transactional.errors import Conflict, InvalidInput, NotFound
from transactional.identity.models import Tenant
from transactional.patients.merge import merge_patients
from transactional.patients.mrn import format_mrn, luhn_check_digit, normalize_mrn
from transactional.patients.registry import (
    Demographics,
    Identifier,
    add_identifier,
    find_patient,
    register_patient,
    update_patient,
)
from transactional.patients.search import PatientPage, PatientQuery, search_patients
from transactional.patients.ssn import normalize_ssn, open_ssn
from transactional.secrets import Keyring, Secrets, load_secrets
from transactional.settings import Settings
from transactional.tenancy import bind_tenant


@pytest.fixture
def tenant(database: Database) -> Tenant:
    return make_tenant(database=database)


@pytest.fixture
def secrets(settings: Settings) -> Secrets:
    return load_secrets(settings)


def test_mrn_check_digit_catches_typos_and_swaps() -> None:
    mrn = format_mrn(4711)
    assert normalize_mrn(mrn) == mrn and normalize_mrn(mrn.replace("-", "")) == mrn
    digits = mrn.replace("-", "")
    for position in range(8):
        for replacement in "0123456789":
            if replacement == digits[position]:
                continue
            typo = digits[:position] + replacement + digits[position + 1 :]
            assert normalize_mrn(typo) is None, typo
    swapped = digits[1] + digits[0] + digits[2:]
    assert digits[0] == digits[1] or normalize_mrn(swapped) is None
    assert luhn_check_digit("7992739871") == 3  # the textbook Luhn example


def test_mrns_are_sequential_per_tenant_and_never_reused(
    database: Database, tenant: Tenant
) -> None:
    other = make_tenant(database=database)
    first, second = (make_patient(database=database, tenant=tenant) for _ in range(2))
    assert (first.mrn, second.mrn) == (format_mrn(1), format_mrn(2))
    assert make_patient(database=database, tenant=other).mrn == format_mrn(1)
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        from transactional.patients.registry import delete_patient

        delete_patient(session=session, tenant_id=tenant.id, patient_id=second.id, actor=SYSTEM)
    assert make_patient(database=database, tenant=tenant).mrn == format_mrn(3)


def test_an_mrn_handed_to_a_rolled_back_registration_is_never_issued(
    database: Database, tenant: Tenant
) -> None:
    first = make_patient(database=database, tenant=tenant)
    with database.sessions() as session, session.begin():
        bind_tenant(session, tenant.id)
        abandoned = register_patient(
            session=session,
            tenant_id=tenant.id,
            data=Demographics(
                given_name="Ada", family_name="Gone", birth_date=date(1990, 1, 1), sex="female"
            ),
            actor=SYSTEM,
        ).mrn
        session.rollback()
    after = make_patient(database=database, tenant=tenant)
    assert (first.mrn, abandoned, after.mrn) == (format_mrn(1), format_mrn(2), format_mrn(3))


def test_concurrent_registrations_get_distinct_mrns(database: Database, tenant: Tenant) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        mrns = list(
            pool.map(lambda _: make_patient(database=database, tenant=tenant).mrn, range(24))
        )
    assert sorted(mrns) == [format_mrn(n) for n in range(1, 25)]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"birth_date": date.today() + timedelta(days=1)}, "future"),
        ({"birth_date": date(1850, 1, 1)}, "before 1880"),
        ({"sex": "robot"}, "sex must be one of"),
        ({"given_name": "   "}, "missing required fields: given_name"),
        ({"phone": "12"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"country": "USA"}, "country"),
    ],
)
def test_registration_rules_reject_bad_demographics(
    database: Database, tenant: Tenant, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        make_patient(database=database, tenant=tenant, **changes)
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        assert session.execute(text("SELECT count(*) FROM patients")).scalar() == 0
        assert session.execute(text("SELECT count(*) FROM audit_events")).scalar() == 0


@pytest.mark.parametrize(
    "ssn", ["123-45-678", "000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000"]
)
def test_ssns_the_ssa_never_issues_are_rejected(ssn: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_ssn(ssn)


def test_ssn_is_encrypted_at_rest_with_a_blind_index(
    database: Database, owner_engine: Engine, tenant: Tenant, secrets: Secrets
) -> None:
    patient = make_patient(database=database, tenant=tenant, ssn="123-45-6789", secrets=secrets)
    with owner_engine.connect() as connection:
        row = connection.execute(
            text("SELECT ssn_encrypted, ssn_blind_index, ssn_last4 FROM patients WHERE id = :id"),
            {"id": patient.id},
        ).one()
    assert b"123456789" not in bytes(row.ssn_encrypted) and b"6789" not in bytes(row.ssn_encrypted)
    assert bytes(row.ssn_encrypted).startswith(b"k1:")
    assert "123456789" not in row.ssn_blind_index and row.ssn_last4 == "6789"
    assert (
        open_ssn(
            bytes(row.ssn_encrypted),
            tenant_id=tenant.id,
            patient_id=patient.id,
            keyring=secrets.keyring,
        )
        == "123-45-6789"
    )
    # Bound to its row: the same ciphertext does not open as another patient's.
    with pytest.raises(Exception):  # noqa: B017, PT011 - cryptography's InvalidTag
        open_ssn(
            bytes(row.ssn_encrypted),
            tenant_id=tenant.id,
            patient_id=uuid.uuid4(),
            keyring=secrets.keyring,
        )


def test_old_ssn_ciphertexts_open_after_a_key_rotation(
    database: Database, tenant: Tenant, secrets: Secrets
) -> None:
    patient = make_patient(database=database, tenant=tenant, ssn="123-45-6789", secrets=secrets)
    rotated = Keyring(keys={"k2": b"\x01" * 32, **secrets.keyring.keys}, active_key_id="k2")
    assert patient.ssn_encrypted is not None
    assert (
        open_ssn(patient.ssn_encrypted, tenant_id=tenant.id, patient_id=patient.id, keyring=rotated)
        == "123-45-6789"
    )
    assert rotated.encrypt(b"x", context=b"c").startswith(b"k2:")


def test_two_live_records_cannot_share_an_ssn(
    database: Database, tenant: Tenant, secrets: Secrets
) -> None:
    make_patient(database=database, tenant=tenant, ssn="123-45-6789", secrets=secrets)
    with pytest.raises(Conflict, match="SSN"):
        make_patient(database=database, tenant=tenant, ssn="123456789", secrets=secrets)


def _search(
    database: Database,
    tenant: Tenant,
    secrets: Secrets,
    limit: int = 20,
    cursor: uuid.UUID | None = None,
    **query: Any,
) -> PatientPage:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        return search_patients(
            session=session,
            tenant_id=tenant.id,
            query=PatientQuery(**query),
            limit=limit,
            cursor=cursor,
            actor=SYSTEM,
            index_key=secrets.blind_index_key,
        )


def test_name_search_tolerates_typos_and_word_order(
    database: Database, tenant: Tenant, secrets: Secrets
) -> None:
    target = make_patient(
        database=database, tenant=tenant, given_name="Jonathan", family_name="Smithfield"
    )
    make_patient(database=database, tenant=tenant, given_name="Maria", family_name="Garcia")
    for text_query in (
        "Smithfield Jonathan",
        "jonathan smithfield",
        "Smithfeild, Jonathon",
        "smithf",
    ):
        found = _search(database, tenant, secrets, text=text_query).items
        assert [p.id for p in found] == [target.id], text_query


def test_name_search_ignores_apostrophes_hyphens_and_initials(
    database: Database, tenant: Tenant, secrets: Secrets
) -> None:
    obrien = make_patient(
        database=database, tenant=tenant, given_name="Siobhan", family_name="O'Brien"
    )
    garcia = make_patient(
        database=database, tenant=tenant, given_name="Ana", family_name="Garcia-Lopez"
    )
    for text_query, expected in (
        ("obrien", obrien),
        ("O'Brien S.", obrien),
        ("o brien siobhan", obrien),
        ("lopez", garcia),
        ("garcia lopez, ana", garcia),
        ("A. Garcia-Lopez", garcia),
    ):
        found = _search(database, tenant, secrets, text=text_query).items
        assert [p.id for p in found] == [expected.id], text_query
    with pytest.raises(InvalidInput, match="at least two letters"):
        _search(database, tenant, secrets, text="J. K.")


def test_search_by_birth_date_phone_identifier_ssn_and_mrn(
    database: Database, tenant: Tenant, secrets: Secrets
) -> None:
    target = make_patient(
        database=database,
        tenant=tenant,
        birth_date=date(1961, 2, 3),
        phone="(555) 010-2233",
        ssn="219-09-9999",
        secrets=secrets,
    )
    make_patient(
        database=database, tenant=tenant, birth_date=date(1961, 2, 4), phone="555 010 2234"
    )
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        add_identifier(
            session=session,
            patient=find_patient(session=session, tenant_id=tenant.id, patient_id=target.id),
            identifier=Identifier("urn:dl:ny", "D1234567", "DL"),
        )
    for query in (
        {"birth_date": date(1961, 2, 3)},
        {"phone": "+1 555-010-2233"[3:]},
        {"text": "5550102233"},
        {"identifier": "urn:dl:ny|D1234567"},
        {"identifier": "D1234567"},
        {"ssn": "219099999"},
        {"mrn": target.mrn},
        {"text": target.mrn},
    ):
        assert [p.id for p in _search(database, tenant, secrets, **query).items] == [target.id], (
            query
        )
    with pytest.raises(InvalidInput, match="check digit"):
        _search(
            database, tenant, secrets, mrn=target.mrn[:-1] + str((int(target.mrn[-1]) + 1) % 10)
        )


def test_cursor_pagination_is_stable_and_complete(
    database: Database, tenant: Tenant, secrets: Secrets
) -> None:
    created = {
        make_patient(database=database, tenant=tenant, family_name=name, given_name="Kim").id
        for name in ("Baker", "Adams", "Clark", "Adams", "Baker")
    }
    seen: list[uuid.UUID] = []
    cursor = None
    while True:
        page = _search(database, tenant, secrets, limit=2, cursor=cursor, text="kim")
        seen += [p.id for p in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 5 and set(seen) == created


def test_merge_moves_history_and_resolves_the_duplicate(
    database: Database, tenant: Tenant, secrets: Secrets
) -> None:
    survivor = make_patient(
        database=database, tenant=tenant, family_name="Okafor", given_name="Chidi"
    )
    duplicate = make_patient(
        database=database, tenant=tenant, family_name="Okafor", given_name="Chidi"
    )
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        dup = find_patient(session=session, tenant_id=tenant.id, patient_id=duplicate.id)
        add_identifier(session=session, patient=dup, identifier=Identifier("urn:old-system", "X-1"))
        merge_patients(
            session=session,
            tenant_id=tenant.id,
            survivor_id=survivor.id,
            duplicate_id=duplicate.id,
            actor=SYSTEM,
        )
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        resolved = find_patient(session=session, tenant_id=tenant.id, patient_id=duplicate.id)
        assert resolved.id == survivor.id
        assert [i.value for i in resolved.identifiers] == ["X-1"]
        with pytest.raises(Conflict, match="merged"):
            update_patient(
                session=session,
                tenant_id=tenant.id,
                patient_id=duplicate.id,
                changes={"given_name": "X"},
                actor=SYSTEM,
            )
    assert [p.id for p in _search(database, tenant, secrets, mrn=duplicate.mrn).items] == [
        survivor.id
    ]
    assert [p.id for p in _search(database, tenant, secrets, text="okafor chidi").items] == [
        survivor.id
    ]


def test_records_with_different_ssns_are_not_merged(
    database: Database, tenant: Tenant, secrets: Secrets
) -> None:
    a = make_patient(database=database, tenant=tenant, ssn="123-45-6789", secrets=secrets)
    b = make_patient(database=database, tenant=tenant, ssn="123-45-6780", secrets=secrets)
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        with pytest.raises(Conflict, match="different SSNs"):
            merge_patients(
                session=session,
                tenant_id=tenant.id,
                survivor_id=a.id,
                duplicate_id=b.id,
                actor=SYSTEM,
            )


def test_deleted_patients_are_hidden_but_kept(
    database: Database, owner_engine: Engine, tenant: Tenant, secrets: Secrets
) -> None:
    from transactional.patients.registry import delete_patient

    patient = make_patient(database=database, tenant=tenant, family_name="Vanishing")
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        delete_patient(session=session, tenant_id=tenant.id, patient_id=patient.id, actor=SYSTEM)
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        with pytest.raises(NotFound):
            find_patient(session=session, tenant_id=tenant.id, patient_id=patient.id)
    assert _search(database, tenant, secrets, text="vanishing").items == []
    with owner_engine.connect() as connection:
        deleted_at = connection.execute(
            text("SELECT deleted_at FROM patients WHERE id = :id"), {"id": patient.id}
        ).scalar()
    assert deleted_at is not None and deleted_at <= utcnow()


def test_demographics_dataclass_covers_every_editable_column() -> None:
    from transactional.patients.models import Patient

    managed = {
        "id",
        "tenant_id",
        "mrn",
        "search_name",
        "phone_digits",
        "ssn_encrypted",
        "ssn_blind_index",
        "ssn_last4",
        "is_deleted",
        "deleted_at",
        "merged_into_id",
        "merged_at",
        "created_at",
        "updated_at",
        "version",
    }
    editable = set(Patient.__table__.c.keys()) - managed
    assert editable == set(Demographics.__dataclass_fields__)


def test_register_requires_the_four_core_fields(database: Database, tenant: Tenant) -> None:
    with database.transaction() as session:
        bind_tenant(session, tenant.id)
        with pytest.raises(InvalidInput, match="missing required fields: family_name, birth_date"):
            register_patient(
                session=session,
                tenant_id=tenant.id,
                data=Demographics(given_name="A", sex="male"),
                actor=SYSTEM,
            )
