"""De-identified extracts of the hand-built population: no direct identifier anywhere, dates
shifted consistently per patient (or reduced to years), ages over 89 grouped, ZIP codes cut
to three digits or zeroed, pseudonyms stable under one key."""

import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.cohorts.population import T2D_TEST, Person, World
from warehouse.cohorts.loader import parse_definition
from warehouse.extracts.deidentify import Deidentifier
from warehouse.extracts.extract import ExtractReport, ExtractRequest, write_extract
from warehouse.extracts.keys import extract_key
from warehouse.extracts.writer import parquet_folder

PATIENT_TABLES = ("patients", "diagnoses", "medications", "lab_results", "encounters")


def _extract(world: World, out: Path, **options: Any) -> Path:
    request = ExtractRequest(tenant_id=world.population.tenant.id, out=out, **options)
    key = None if request.identified else extract_key(world.settings)
    write_extract(world.warehouse, request, key=key)
    return out


@pytest.fixture(scope="module")
def shifted(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _extract(world, tmp_path_factory.mktemp("shifted") / "population.duckdb")


@pytest.fixture(scope="module")
def identified(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _extract(world, tmp_path_factory.mktemp("identified") / "full.duckdb", identified=True)


@pytest.fixture
def db(shifted: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(shifted), read_only=True)
    yield connection
    connection.close()


def _tool(world: World) -> Deidentifier:
    return Deidentifier(extract_key(world.settings), world.population.tenant.id)


def _pseudonym(world: World, person: Person) -> str:
    return _tool(world).pseudonym("patient", str(person.id))


def _identifiers(person: Person) -> list[str]:
    digits = person.ssn.replace("-", "")
    return [
        person.given_name,
        person.family_name,
        person.mrn,
        person.phone,
        person.phone.replace("-", ""),
        person.email,
        person.ssn,
        digits,
        person.street,
        str(person.id),
        person.birth_date.isoformat(),
    ]


def _every_value(path: Path) -> tuple[list[str], str]:
    """Table names and every distinct value of every column, as text."""
    connection = duckdb.connect(str(path), read_only=True)
    try:
        tables = [row[0] for row in connection.execute("SHOW TABLES").fetchall()]
        values: set[str] = set()
        for table in tables:
            columns = [row[0] for row in connection.execute(f'DESCRIBE "{table}"').fetchall()]
            for column in columns:
                rows = connection.execute(
                    f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{table}"'
                ).fetchall()
                values |= {str(row[0]) for row in rows if row[0] is not None}
    finally:
        connection.close()
    return tables, "\n".join(values)


def _leaks(world: World, text: str) -> list[str]:
    return [v for p in world.population.people for v in _identifiers(p) if v in text]


def test_no_column_of_any_table_holds_a_direct_identifier(
    world: World, shifted: Path, identified: Path
) -> None:
    tables, text = _every_value(shifted)
    assert set(PATIENT_TABLES) | {"data_dictionary", "extract_info"} <= set(tables)
    assert _leaks(world, text) == []
    # The scan does find them where they are: in an identified extract.
    _, identified_text = _every_value(identified)
    living = [p for p in world.population.people if not p.spec.deleted]
    assert all(p.mrn in identified_text and p.family_name in identified_text for p in living)
    # ... and nothing leaks through the Parquet copies or the dictionary files either.
    folder = parquet_folder(shifted)
    for path in folder.iterdir():
        assert _leaks(world, path.read_bytes().decode("latin-1")) == []
    assert {p.name for p in folder.iterdir()} >= {
        *(f"{table}.parquet" for table in PATIENT_TABLES),
        "data_dictionary.md",
        "data_dictionary.json",
    }


def test_the_data_dictionary_describes_every_column(db: duckdb.DuckDBPyConnection) -> None:
    documented = {
        (row[0], row[1]): row[2]
        for row in db.execute(
            "SELECT table_name, column_name, transformation FROM data_dictionary"
        ).fetchall()
    }
    for table in PATIENT_TABLES:
        for (column,) in db.execute(f'SELECT column_name FROM (DESCRIBE "{table}")').fetchall():
            assert (table, column) in documented
    assert "pseudonym" in documented[("patients", "patient_id")]
    assert "shifted" in documented[("diagnoses", "onset_date")]
    assert "90+" in documented[("patients", "age")]
    assert "000" in documented[("patients", "zip3")]
    described = db.execute(
        "SELECT count(*) FROM data_dictionary WHERE description <> ''"
    ).fetchone()
    assert described is not None and described[0] > 40


def test_dates_are_shifted_by_one_offset_per_patient(
    world: World, db: duckdb.DuckDBPyConnection, identified: Path
) -> None:
    truth = duckdb.connect(str(identified), read_only=True)
    try:
        real = {
            (str(patient), code): (onset, collected)
            for patient, code, onset, collected in truth.execute(
                "SELECT d.patient_id, d.code, d.onset_date, CAST(l.effective_at AS DATE) "
                "FROM diagnoses d JOIN lab_results l USING (patient_id) WHERE l.code = '4548-4'"
            ).fetchall()
        }
    finally:
        truth.close()
    offsets = set()
    for person in world.population.of("member") + world.population.of("ckd"):
        shifted = db.execute(
            "SELECT d.code, d.onset_date, CAST(l.effective_at AS DATE) FROM diagnoses d "
            "JOIN lab_results l USING (patient_id) WHERE d.patient_id = ? AND l.code = '4548-4'",
            [_pseudonym(world, person)],
        ).fetchall()
        assert shifted
        for code, onset, collected in shifted:
            real_onset, real_collected = real[(str(person.id), code)]
            offset = (onset - real_onset).days
            assert offset == (collected - real_collected).days
            assert offset == _tool(world).shift_days(str(person.id))
            assert offset != 0 and abs(offset) <= 365
            offsets.add(offset)
    assert len(offsets) > 10  # each patient their own


def test_ages_over_89_are_grouped_and_their_birth_years_withheld(
    world: World, db: duckdb.DuckDBPyConnection
) -> None:
    for person in world.population.of("member"):
        age, birth_year = db.execute(
            "SELECT age, birth_year FROM patients WHERE patient_id = ?",
            [_pseudonym(world, person)],
        ).fetchall()[0]
        today = date.today()
        years = (
            today.year
            - person.birth_date.year
            - ((today.month, today.day) < (person.birth_date.month, person.birth_date.day))
        )
        if years >= 90:
            assert (age, birth_year) == ("90+", None)
        else:
            assert (age, birth_year) == (str(years), person.birth_date.year)
    assert db.execute("SELECT count(*) FROM patients WHERE age = '90+'").fetchone() == (1,)


def test_zip_codes_keep_three_digits_and_small_areas_become_000(
    world: World, db: duckdb.DuckDBPyConnection
) -> None:
    expected = {"02115": "021", "02139": "021", "03601": "000", "05901": "000"}
    for person in world.population.people[:8]:
        found = db.execute(
            "SELECT zip3 FROM patients WHERE patient_id = ?", [_pseudonym(world, person)]
        ).fetchone()
        assert found == (expected[person.postal_code],)


def test_dates_can_be_reduced_to_years(world: World, tmp_path: Path) -> None:
    out = _extract(world, tmp_path / "years.duckdb", dates="year")
    connection = duckdb.connect(str(out), read_only=True)
    try:
        columns = {row[0] for row in connection.execute("DESCRIBE diagnoses").fetchall()}
        assert {"onset_year", "abatement_year"} <= columns and "onset_date" not in columns
        member = world.population.of("member")[0]
        years = connection.execute(
            "SELECT onset_year FROM diagnoses WHERE patient_id = ? AND code = 'E11.9'",
            [_pseudonym(world, member)],
        ).fetchall()
        assert years == [(member.entry_date.year,)]
        info = dict(connection.execute("SELECT property, value FROM extract_info").fetchall())
        assert info["dates"] == "year"
    finally:
        connection.close()


def test_a_cohort_extract_holds_only_its_members(world: World, tmp_path: Path) -> None:
    cohort = parse_definition(T2D_TEST)
    out = _extract(world, tmp_path / "cohort.duckdb", cohort=cohort)
    members = {_pseudonym(world, p) for p in world.population.of("member")}
    connection = duckdb.connect(str(out), read_only=True)
    try:
        for table in (*PATIENT_TABLES, "cohort_membership", "cohort_outcomes"):
            ids = {
                row[0] for row in connection.execute(f'SELECT patient_id FROM "{table}"').fetchall()
            }
            assert ids <= members, table
        assert {
            row[0] for row in connection.execute("SELECT patient_id FROM patients").fetchall()
        } == members
        ages = {
            row[0]
            for row in connection.execute("SELECT age_at_entry FROM cohort_membership").fetchall()
        }
        assert "90+" in ages and all(a == "90+" or a.isdigit() for a in ages)
        occurred = connection.execute(
            "SELECT count(*) FROM cohort_outcomes WHERE outcome = 'ed_visit_30d' AND occurred = 1"
        ).fetchone()
        assert occurred == (4,)
    finally:
        connection.close()
    manifest = json.loads((parquet_folder(out) / "data_dictionary.json").read_text())
    assert "cohort_membership" in {t["name"] for t in manifest["tables"]}


def test_pseudonyms_are_stable_under_one_key_and_change_with_it(world: World) -> None:
    person = world.population.people[0]
    same = _tool(world)
    assert same.pseudonym("patient", str(person.id)) == _pseudonym(world, person)
    other = Deidentifier(b"k" * 32, world.population.tenant.id)
    assert other.pseudonym("patient", str(person.id)) != _pseudonym(world, person)
    assert same.pseudonym("encounter", str(person.id)) != _pseudonym(world, person)
    assert same.pseudonym("patient", str(uuid.uuid4())) != _pseudonym(world, person)


def test_a_patient_level_mart_is_classified_column_by_column(world: World, tmp_path: Path) -> None:
    out = _extract(world, tmp_path / "events.duckdb", marts=("cohort_events",))
    connection = duckdb.connect(str(out), read_only=True)
    try:
        columns = {
            row[0]: row[1] for row in connection.execute("DESCRIBE cohort_events").fetchall()
        }
        assert "tenant_id" not in columns
        member = world.population.of("member")[0]
        rows = connection.execute(
            "SELECT event_kind, code, event_at FROM cohort_events WHERE patient_id = ? "
            "AND code = 'E11.9'",
            [_pseudonym(world, member)],
        ).fetchall()
        shift = _tool(world).shift_days(str(member.id))
        assert [(r[0], r[1], r[2].date()) for r in rows] == [
            ("diagnosis", "E11.9", date.fromordinal(member.entry_date.toordinal() + shift))
        ]
        raw_ids = {str(p.id) for p in world.population.people}
        seen = {
            row[0] for row in connection.execute("SELECT patient_id FROM cohort_events").fetchall()
        }
        assert not seen & raw_ids
        assert isinstance(rows[0][2], datetime)
    finally:
        connection.close()


def test_a_failure_before_publishing_leaves_nothing_behind(world: World, tmp_path: Path) -> None:
    def refuse(report: ExtractReport) -> None:
        assert report.rows["patients"] == 66
        raise RuntimeError("the audit trail is unavailable")

    request = ExtractRequest(tenant_id=world.population.tenant.id, out=tmp_path / "x.duckdb")
    with pytest.raises(RuntimeError, match="audit trail"):
        write_extract(
            world.warehouse, request, key=extract_key(world.settings), before_publish=refuse
        )
    assert list(tmp_path.iterdir()) == []
