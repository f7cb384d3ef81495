"""organizations.csv -> locations, providers.csv -> practitioners (and a department per
speciality), payers.csv -> payers. Same rules as the directory services: names 1 to 200
characters, IANA time zones, NUCC taxonomy codes, unique names per tenant."""

import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select

from transactional.patients.models import Payer
from transactional.providers.directory import zone
from transactional.providers.models import Department, Location, Practitioner
from transactional.synthea.batch import Batch, each
from transactional.synthea.mappings import PAYER_TYPES, SPECIALTIES, STATE_ZONES
from transactional.synthea.source import RowError, SourceRow, parse_uuid
from transactional.synthea.state import LocationRef, PayerRef, PractitionerRef
from transactional.synthea.writer import Unit

LOCATIONS: Table = Location.__table__  # type: ignore[assignment]
DEPARTMENTS: Table = Department.__table__  # type: ignore[assignment]
PRACTITIONERS: Table = Practitioner.__table__  # type: ignore[assignment]
PAYERS: Table = Payer.__table__  # type: ignore[assignment]

ORGANIZATION_COLUMNS = ("Id", "NAME", "CITY", "STATE")
PROVIDER_COLUMNS = ("Id", "NAME", "SPECIALITY")
PAYER_COLUMNS = ("Id", "NAME")


def _name(row: SourceRow, column: str) -> str:
    name = " ".join(row.required(column).split())
    if len(name) > 200:
        raise RowError(f"{column} is longer than 200 characters")
    return name


def _id_key(row: SourceRow) -> str:
    return parse_uuid(row, "Id")


def import_organizations(batch: Batch, rows: list[SourceRow]) -> None:
    taken = set(
        batch.session.scalars(select(Location.name).where(Location.tenant_id == batch.tenant_id))
    )

    def handle(row: SourceRow, key: str) -> None:
        state = row.required("STATE").upper()
        if state not in STATE_ZONES:
            raise RowError(f"STATE {state[:8]!r} is not a US state or territory code")
        name = _name(row, "NAME")
        if name in taken:
            # Two organizations may share a name; their locations here may not.
            name = f"{name} ({' '.join(row.text('CITY').split()).title()})"[:200]
        if name in taken:
            name = f"{name[:190]} {key[:8]}"
        time_zone = STATE_ZONES[state]
        zone(time_zone)
        taken.add(name)
        location_id = uuid.uuid4()
        batch.state.locations[key] = LocationRef(location_id, ZoneInfo(time_zone))
        unit = batch.unit(
            row, key, (LOCATIONS, location_id), undo=lambda: batch.state.locations.pop(key)
        )
        unit.add(
            LOCATIONS,
            {
                "id": location_id,
                "tenant_id": batch.tenant_id,
                "name": name,
                "time_zone": time_zone,
                "is_active": True,
                "created_at": batch.now,
                "updated_at": batch.now,
            },
        )

    each(batch, rows, _id_key, handle)


def import_providers(batch: Batch, rows: list[SourceRow]) -> None:
    departments = {
        name: department_id
        for name, department_id in batch.session.execute(
            select(Department.name, Department.id).where(Department.tenant_id == batch.tenant_id)
        )
    }
    created: dict[uuid.UUID, Unit] = {}

    def handle(row: SourceRow, key: str) -> None:
        name = _name(row, "NAME")
        speciality = " ".join(row.text("SPECIALITY").upper().split())
        department_id = None
        unit = batch.unit(row, key, None, undo=lambda: batch.state.practitioners.pop(key))
        if speciality:
            title = speciality.title()[:200]
            if title not in departments:
                departments[title] = uuid.uuid4()
                created[departments[title]] = unit
                unit.add(
                    DEPARTMENTS,
                    {
                        "id": departments[title],
                        "tenant_id": batch.tenant_id,
                        "name": title,
                        "created_at": batch.now,
                    },
                )
            department_id = departments[title]
        practitioner_id = uuid.uuid4()
        unit.target = (PRACTITIONERS, practitioner_id)
        maker = created.get(department_id) if department_id is not None else None
        if maker is not None and maker is not unit:
            unit.needs.append(maker)
        unit.add(
            PRACTITIONERS,
            {
                "id": practitioner_id,
                "tenant_id": batch.tenant_id,
                "display_name": name,
                "npi": None,
                "specialty_codes": [SPECIALTIES[speciality]] if speciality in SPECIALTIES else [],
                "department_id": department_id,
                "user_id": None,
                "is_active": True,
                "created_at": batch.now,
                "updated_at": batch.now,
            },
        )
        batch.state.practitioners[key] = PractitionerRef(practitioner_id, department_id)

    each(batch, rows, _id_key, handle)
    if created:
        batch.summary.notes[f"departments created for specialities: {len(created)}"] += 1


def import_payers(batch: Batch, rows: list[SourceRow]) -> None:
    existing: dict[str, uuid.UUID] = {}
    types: dict[uuid.UUID, str] = {}
    for payer_id, name, payer_type in batch.session.execute(
        select(Payer.id, Payer.name, Payer.payer_type).where(Payer.tenant_id == batch.tenant_id)
    ):
        existing[name], types[payer_id] = payer_id, payer_type
    named: set[str] = set()

    def handle(row: SourceRow, key: str) -> None:
        name = _name(row, "NAME")
        if name in named:
            raise RowError("NAME is the name of another payer of this file")
        named.add(name)
        payer_type = PAYER_TYPES.get(name.lower(), "commercial")
        if name in existing:
            # The tenant already bills this payer: the import uses it, as staff would.
            payer_id = existing[name]
            batch.state.payers[key] = PayerRef(payer_id, types[payer_id])
            batch.unit(row, key, (PAYERS, payer_id), undo=lambda: batch.state.payers.pop(key))
            batch.summary.notes["payers matched to an existing payer of the same name"] += 1
            return
        payer_id = uuid.uuid4()
        batch.state.payers[key] = PayerRef(payer_id, payer_type)
        unit = batch.unit(row, key, (PAYERS, payer_id), undo=lambda: batch.state.payers.pop(key))
        unit.add(
            PAYERS,
            {
                "id": payer_id,
                "tenant_id": batch.tenant_id,
                "name": name,
                "payer_type": payer_type,
                "external_id": key,
                "created_at": batch.now,
            },
        )

    each(batch, rows, _id_key, handle)
