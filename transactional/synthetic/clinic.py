"""The clinic a population is seen in: departments, places, clinicians and their accounts,
weekly hours, payers and fee schedules. Sized to the population."""

from dataclasses import dataclass
from datetime import date, datetime, time

import numpy as np
import polars as pl

from transactional.synthetic import model
from transactional.synthetic.ids import npis, uuids
from transactional.synthetic.people import given_names, surnames

TIME_ZONE = "America/New_York"
SLOT_MINUTES = 20
DAY_START, DAY_END = time(8, 0), time(17, 0)
SLOTS_PER_DAY = (DAY_END.hour - DAY_START.hour) * 60 // SLOT_MINUTES
# An account that can never sign in: argon2 refuses it as a hash. An administrator gives a
# generated clinician a password before they can use it.
UNUSABLE_PASSWORD_HASH = "!generated-account-without-password"  # noqa: S105 - not a secret
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"

DEPARTMENTS = (
    "Family Medicine",
    "Pediatrics",
    "Cardiology",
    "Emergency Medicine",
    "Hospital Medicine",
)
# (name, kind): ambulatory sites are booked; the emergency department and the ward are not.
LOCATIONS = (
    ("Main Street Health Center", "clinic"),
    ("Harbor Family Practice", "clinic"),
    ("General Hospital Emergency Department", "emergency"),
    ("General Hospital Inpatient Unit", "inpatient"),
)
# role: (department, NUCC taxonomy, patients per clinician, booked at a clinic)
ROLES = {
    "primary_care": ("Family Medicine", "207Q00000X", 1500, True),
    "pediatrics": ("Pediatrics", "208000000X", 6000, True),
    "cardiology": ("Cardiology", "207RC0000X", 25000, True),
    "emergency": ("Emergency Medicine", "207P00000X", 15000, False),
    "hospitalist": ("Hospital Medicine", "208M00000X", 15000, False),
}
# Chargemaster in cents: CPT codes (no descriptions shipped: AMA licence) and HCPCS.
FEES = {
    (CPT, "99202"): 11000, (CPT, "99203"): 16500, (CPT, "99204"): 24000,
    (CPT, "99212"): 9000, (CPT, "99213"): 13500, (CPT, "99214"): 19500, (CPT, "99215"): 26500,
    (CPT, "99391"): 16000, (CPT, "99392"): 17000, (CPT, "99393"): 17000, (CPT, "99394"): 18000,
    (CPT, "99395"): 19000, (CPT, "99396"): 20500, (CPT, "99397"): 22000,
    (CPT, "99385"): 21000, (CPT, "99386"): 23000, (CPT, "99387"): 24500,
    (CPT, "99283"): 31000, (CPT, "99284"): 52000, (CPT, "99285"): 78000,
    (CPT, "99221"): 21000, (CPT, "99222"): 28500, (CPT, "99223"): 41000,
    (CPT, "99232"): 15500, (CPT, "99238"): 14500, (CPT, "99239"): 21500,
    (CPT, "36415"): 1500, (CPT, "93000"): 6500, (CPT, "94010"): 9500, (CPT, "71046"): 14000,
    (HCPCS, "G0438"): 27500, (HCPCS, "G0439"): 19000,
}  # fmt: skip
MEDICARE_FEE_SHARE = 0.9  # Medicare's own schedule, lower than the chargemaster


@dataclass(frozen=True)
class Clinic:
    departments: pl.DataFrame
    locations: pl.DataFrame
    users: pl.DataFrame
    practitioners: pl.DataFrame
    working_hours: pl.DataFrame
    payers: pl.DataFrame
    fee_schedules: pl.DataFrame
    fee_schedule_items: pl.DataFrame

    def of_role(self, role: str) -> pl.DataFrame:
        return self.practitioners.filter(pl.col("role") == role)

    def location(self, kind: str) -> pl.DataFrame:
        return self.locations.filter(pl.col("kind") == kind)


def _counts(patients: int) -> dict[str, int]:
    return {
        role: max(2 if role in ("primary_care", "emergency", "hospitalist") else 1, patients // per)
        for role, (_, _, per, _) in ROLES.items()
    }


def build_clinic(
    rng: np.random.Generator, *, tenant_id: str, patients: int, history_start: date
) -> Clinic:
    created = datetime.combine(history_start, time(0, 0))
    departments = pl.DataFrame(
        {"id": uuids(rng, len(DEPARTMENTS)), "name": list(DEPARTMENTS)}
    ).with_columns(tenant_id=pl.lit(tenant_id), created_at=pl.lit(created))
    locations = pl.DataFrame(
        {
            "id": uuids(rng, len(LOCATIONS)),
            "name": [name for name, _ in LOCATIONS],
            "kind": [kind for _, kind in LOCATIONS],
        }
    ).with_columns(
        tenant_id=pl.lit(tenant_id),
        time_zone=pl.lit(TIME_ZONE),
        is_active=pl.lit(True),
        created_at=pl.lit(created),
        updated_at=pl.lit(created),
    )
    rows = []
    for role, count in _counts(patients).items():
        department, taxonomy, _, booked = ROLES[role]
        rows += [(role, department, taxonomy, booked)] * count
    n = len(rows)
    female = rng.random(n) < 0.55
    given = np.where(female, given_names("female").draw(rng, n), given_names("male").draw(rng, n))
    family = surnames("general").draw(rng, n)
    names = [f"Dr. {g} {f}" for g, f in zip(given, family, strict=True)]
    user_ids = uuids(rng, n)
    department_ids = dict(zip(departments["name"], departments["id"], strict=True))
    clinics = locations.filter(pl.col("kind") == "clinic")["id"].to_list()
    home = [
        clinics[i % len(clinics)] if booked else None for i, (_, _, _, booked) in enumerate(rows)
    ]
    practitioners = pl.DataFrame(
        {
            "id": uuids(rng, n),
            "display_name": names,
            "npi": npis(rng, n),
            "specialty_codes": [[taxonomy] for _, _, taxonomy, _ in rows],
            "department_id": [department_ids[department] for _, department, _, _ in rows],
            "user_id": user_ids,
            "role": [role for role, _, _, _ in rows],
            "location_id": home,
        }
    ).with_columns(
        tenant_id=pl.lit(tenant_id),
        is_active=pl.lit(True),
        created_at=pl.lit(created),
        updated_at=pl.lit(created),
    )
    emails = [
        f"{g.lower()}.{f.lower().replace(chr(39), '')}.{i}@staff.example.org"
        for i, (g, f) in enumerate(zip(given, family, strict=True))
    ]
    users = pl.DataFrame({"id": user_ids, "email": emails, "display_name": names}).with_columns(
        tenant_id=pl.lit(tenant_id),
        role=pl.lit("physician"),
        password_hash=pl.lit(UNUSABLE_PASSWORD_HASH),
        is_active=pl.lit(True),
        failed_login_count=pl.lit(0, dtype=pl.Int32),
        mfa_enabled=pl.lit(False),
        created_at=pl.lit(created),
        updated_at=pl.lit(created),
    )
    bookable = practitioners.filter(pl.col("location_id").is_not_null())
    hours = bookable.select("id", "location_id").join(
        pl.DataFrame({"weekday": [1, 2, 3, 4, 5]}, schema={"weekday": pl.Int16}), how="cross"
    )
    working_hours = hours.rename({"id": "practitioner_id"}).with_columns(
        id=uuids(rng, hours.height),
        tenant_id=pl.lit(tenant_id),
        start_time=pl.lit(DAY_START),
        end_time=pl.lit(DAY_END),
        slot_minutes=pl.lit(SLOT_MINUTES, dtype=pl.Int16),
        effective_from=pl.lit(history_start),
        created_at=pl.lit(created),
    )
    payers = pl.DataFrame(
        {
            "id": uuids(rng, len(model.PAYERS)),
            "name": [p[0] for p in model.PAYERS],
            "payer_type": [p[1] for p in model.PAYERS],
            "external_id": [f"PAYER-{i:03d}" for i in range(1, len(model.PAYERS) + 1)],
        }
    ).with_columns(tenant_id=pl.lit(tenant_id), created_at=pl.lit(created))
    medicare = payers.filter(pl.col("payer_type") == "medicare")["id"][0]
    schedules = pl.DataFrame(
        {
            "id": uuids(rng, 2),
            "payer_id": [None, medicare],
            "name": ["Chargemaster", "Medicare physician fee schedule"],
        }
    ).with_columns(
        tenant_id=pl.lit(tenant_id),
        effective_from=pl.lit(history_start),
        created_at=pl.lit(created),
    )
    items = []
    for schedule_id, share in zip(schedules["id"], (1.0, MEDICARE_FEE_SHARE), strict=True):
        for (system, code), cents in FEES.items():
            items.append((schedule_id, system, code, round(cents * share)))
    fee_items = pl.DataFrame(
        items, schema=["fee_schedule_id", "code_system", "code", "amount_cents"], orient="row"
    ).with_columns(id=uuids(rng, len(items)), tenant_id=pl.lit(tenant_id))
    return Clinic(
        departments=departments,
        locations=locations,
        users=users,
        practitioners=practitioners,
        working_hours=working_hours,
        payers=payers,
        fee_schedules=schedules,
        fee_schedule_items=fee_items,
    )
