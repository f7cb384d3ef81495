"""The revenue cycle of a generated population: charges, invoices, claims and their history,
remittances, payments and adjustments, with realistic lags.

Invoice totals are not written here: the ledger triggers of migration 0011 keep them, as they
do for the API, so every balance is charges - payments - adjustments by construction.
"""

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from transactional.synthetic import model
from transactional.synthetic.clinic import TIME_ZONE, Clinic

if TYPE_CHECKING:
    from transactional.synthetic.tables import Context

PLACE_OF_SERVICE = {"ambulatory": "11", "emergency": "23", "inpatient": "21"}
DAY_US = 86_400_000_000


def _days(series: pl.Series) -> np.ndarray:
    return series.cast(pl.Int32).to_numpy().astype(np.int64)


def _instant(days: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """A working-hours instant (13:00-21:00 UTC) on each day."""
    micros = days * DAY_US + (13 * 3600 + rng.integers(0, 8 * 3600, len(days))) * 1_000_000
    return pl.Series(micros).cast(pl.Datetime("us", "UTC"))


def revenue_cycle(
    *,
    tables: dict[str, pl.DataFrame],
    encounters: pl.DataFrame,
    context: "Context",
    clinic: Clinic,
    department_of: pl.Series,
    rng: np.random.Generator,
) -> dict[str, pl.DataFrame]:
    as_of = (context.as_of - date(1970, 1, 1)).days
    tenant = pl.lit(context.tenant_id)

    # Which encounters are captured, and when: a few days after the visit ends.
    visits = encounters.select(
        encounter_id="id",
        patient_id="patient_id",
        practitioner_id="practitioner_id",
        location_id="location_id",
        encounter_class="encounter_class",
        service_date=pl.col("start_at").dt.convert_time_zone(TIME_ZONE).dt.date(),
        ended=pl.col("end_at").dt.date(),
    )
    lag = rng.choice([0, 1, 1, 2, 2, 3, 4, 6, 9], size=visits.height)
    captured_day = _days(visits["ended"]) + lag
    visits = visits.with_columns(captured_day=pl.Series(captured_day)).filter(
        pl.col("captured_day") < as_of
    )

    # The primary coverage on the service date.
    coverages = (
        tables["coverages"]
        .filter(pl.col("priority") == 1)
        .select(
            "patient_id",
            coverage_id="id",
            payer_id="payer_id",
            member_id="member_id",
            period_start="period_start",
            period_end="period_end",
        )
        .join(
            clinic.payers.select(payer_id="id", payer_type="payer_type", payer_name="name"),
            on="payer_id",
            maintain_order="left",
        )
    )
    visits = (
        visits.join(coverages, on="patient_id", how="left", maintain_order="left")
        .filter(
            pl.col("coverage_id").is_null()
            | (
                (pl.col("period_start") <= pl.col("service_date"))
                & (
                    pl.col("period_end").is_null()
                    | (pl.col("period_end") >= pl.col("service_date"))
                )
            )
        )
        .unique("encounter_id", keep="first", maintain_order=True)
    )
    # Invoices.
    invoice_ids = context.ids("invoices", visits.height)
    visits = visits.with_columns(
        invoice_id=invoice_ids, posted_at=_instant(visits["captured_day"].to_numpy(), rng)
    )
    invoices = visits.select(
        "patient_id",
        "encounter_id",
        "service_date",
        id="invoice_id",
        coverage_id="coverage_id",
        created_at="posted_at",
        updated_at="posted_at",
    ).with_columns(tenant_id=tenant)

    # Charges: each procedure at its fee.
    medicare_schedule, chargemaster = (
        clinic.fee_schedules.filter(pl.col("payer_id").is_not_null())["id"][0],
        clinic.fee_schedules.filter(pl.col("payer_id").is_null())["id"][0],
    )
    fees = clinic.fee_schedule_items.select(
        "fee_schedule_id", "code_system", "code", unit_price_cents="amount_cents"
    )
    diagnoses = (
        tables["conditions"]
        .filter(pl.col("category") == "encounter_diagnosis")
        .filter(pl.col("rank") <= 4)
    )
    pointers = diagnoses.pivot(
        on="rank", index="encounter_id", values="id", aggregate_function="first"
    )
    pointers = pointers.rename(
        {str(r): f"diagnosis{r}_id" for r in range(1, 5) if str(r) in pointers.columns}
    )
    for r in range(1, 5):
        if f"diagnosis{r}_id" not in pointers.columns:
            pointers = pointers.with_columns(
                pl.lit(None, dtype=pl.String).alias(f"diagnosis{r}_id")
            )
    charges = (
        tables["procedures"]
        .select(
            procedure_id="id",
            encounter_id="encounter_id",
            code_system="code_system",
            code="code",
            units="units",
        )
        .join(
            visits.select(
                "encounter_id",
                "invoice_id",
                "patient_id",
                "practitioner_id",
                "location_id",
                "service_date",
                "payer_type",
                "posted_at",
            ),
            on="encounter_id",
            maintain_order="left",
        )
        .with_columns(
            fee_schedule_id=pl.when(pl.col("payer_type") == "medicare")
            .then(pl.lit(medicare_schedule))
            .otherwise(pl.lit(chargemaster))
        )
        .join(fees, on=["fee_schedule_id", "code_system", "code"], maintain_order="left")
        .join(pointers, on="encounter_id", maintain_order="left")
        .with_columns(amount_cents=pl.col("unit_price_cents") * pl.col("units").cast(pl.Int64))
    )
    charges = charges.with_columns(
        id=context.ids("charges", charges.height),
        rendering_practitioner_id="practitioner_id",
        department_id=pl.col("practitioner_id").replace_strict(
            dict(zip(clinic.practitioners["id"], department_of, strict=True)),
            return_dtype=pl.String,
        ),
        tenant_id=tenant,
        status=pl.lit("active"),
        created_at="posted_at",
        updated_at="posted_at",
    )
    totals = charges.group_by("invoice_id").agg(total=pl.col("amount_cents").sum())

    # Claims, for invoices with a payer other than self-pay.
    claims = (
        visits.filter(pl.col("payer_type").is_not_null() & (pl.col("payer_type") != "self_pay"))
        .join(totals, on="invoice_id", maintain_order="left")
        .join(
            clinic.practitioners.select(practitioner_id="id", npi="npi"),
            on="practitioner_id",
            maintain_order="left",
        )
    )
    count = claims.height
    payer_params = {
        name: (denial, allowed, days) for name, _, _, denial, allowed, days in model.PAYERS
    }
    denial_rate = (
        claims["payer_name"]
        .replace_strict({k: v[0] for k, v in payer_params.items()}, return_dtype=pl.Float64)
        .to_numpy()
    )
    allowed_share = (
        claims["payer_name"]
        .replace_strict({k: v[1] for k, v in payer_params.items()}, return_dtype=pl.Float64)
        .to_numpy()
    )
    pay_days = (
        claims["payer_name"]
        .replace_strict({k: v[2] for k, v in payer_params.items()}, return_dtype=pl.Float64)
        .to_numpy()
    )
    submitted = claims["captured_day"].to_numpy() + rng.integers(0, 3, count)
    decided = submitted + rng.integers(7, 21, count)
    denied = (rng.random(count) < denial_rate) & (decided < as_of)
    resubmitted = denied & (rng.random(count) < model.RESUBMIT_SHARE)
    resubmit_day = decided + rng.integers(5, 21, count)
    resubmitted &= resubmit_day < as_of
    denied_again = resubmitted & (rng.random(count) < 0.1)
    accept_base = np.where(resubmitted, resubmit_day, submitted)
    accept_day = accept_base + rng.integers(7, 21, count)
    accepted = np.where(resubmitted, ~denied_again, ~denied) & (accept_day < as_of)
    remit_day = accept_base + np.maximum(rng.gamma(4.0, pay_days / 4.0), 8).astype(np.int64)
    remitted = accepted & (remit_day < as_of)
    total = claims["total"].to_numpy()
    allowed = np.round(total * allowed_share).astype(np.int64)
    patient_share = np.where(
        claims["payer_type"].to_numpy() == "medicaid",
        0.0,
        np.where(claims["payer_type"].to_numpy() == "medicare", 0.2, 0.15),
    )
    responsibility = np.round(allowed * patient_share * rng.uniform(0.5, 1.5, count)).astype(
        np.int64
    )
    responsibility = np.minimum(responsibility, allowed)
    partial = remitted & (rng.random(count) < 0.04)
    payer_paid = np.where(
        partial, np.round((allowed - responsibility) * 0.7), allowed - responsibility
    ).astype(np.int64)
    contractual = total - allowed
    reasons = np.array([r for r, _ in model.DENIAL_REASONS])
    shares = np.array([s for _, s in model.DENIAL_REASONS])
    denial_reason = reasons[rng.choice(len(reasons), size=count, p=shares / shares.sum())]

    originals = claims.with_columns(
        id=context.ids("claims", count),
        frequency_code=pl.lit("1"),
        original_claim_id=pl.lit(None, dtype=pl.String),
    )
    replacement_ids = context.ids("replacement_claims", count)

    def status_of(
        final_denied: np.ndarray, accepted_: np.ndarray, remitted_: np.ndarray
    ) -> np.ndarray:
        return np.where(
            final_denied,
            "denied",
            np.where(
                remitted_,
                np.where(partial, "partially_paid", "paid"),
                np.where(accepted_, "accepted", "submitted"),
            ),
        )

    original_status = np.where(
        denied,
        "denied",
        status_of(np.zeros(count, bool), accepted & ~resubmitted, remitted & ~resubmitted),
    )
    replacement_status = status_of(denied_again & (accept_day < as_of), accepted, remitted)
    claim_rows = []
    for frame, mask, status, created_day in (
        (originals, np.ones(count, dtype=bool), original_status, submitted),
        (
            originals.with_columns(
                id=replacement_ids, frequency_code=pl.lit("7"), original_claim_id=originals["id"]
            ),
            resubmitted,
            replacement_status,
            resubmit_day,
        ),
    ):
        final_status = pl.Series(status)
        tracking = pl.Series(
            ["GEN-" + h[:12].upper() for h in frame["id"].str.replace_all("-", "")]
        )
        is_denied = final_status == "denied"
        rows = frame.with_columns(
            status=final_status,
            tracking_id=tracking,
            payer_claim_number=pl.when(
                final_status.is_in(["accepted", "paid", "partially_paid"])
            ).then(pl.lit("PCN") + tracking.str.slice(4, 10)),
            denial_group_code=pl.when(is_denied).then(pl.Series(denial_reason).str.slice(0, 2)),
            denial_reason_code=pl.when(is_denied).then(pl.Series(denial_reason).str.slice(3)),
            created_at=_instant(created_day, rng),
        ).filter(pl.Series(mask))
        claim_rows.append(rows)
    all_claims = pl.concat(claim_rows)
    claims_table = all_claims.select(
        "id",
        "invoice_id",
        "coverage_id",
        "payer_id",
        "member_id",
        "frequency_code",
        "original_claim_id",
        "status",
        "tracking_id",
        "payer_claim_number",
        "denial_group_code",
        "denial_reason_code",
        "patient_id",
        "created_at",
        place_of_service=pl.col("encounter_class").replace_strict(
            PLACE_OF_SERVICE, return_dtype=pl.String
        ),
        billing_npi="npi",
        rendering_npi="npi",
        total_charge_cents="total",
        updated_at="created_at",
    ).with_columns(tenant_id=tenant)

    # Claim diagnoses and lines.
    claim_diagnoses = (
        all_claims.select(claim_id="id", encounter_id="encounter_id")
        .join(
            diagnoses.select(
                "encounter_id",
                condition_id="id",
                code_system="code_system",
                code="code",
                pointer="rank",
            ),
            on="encounter_id",
            maintain_order="left",
        )
        .drop("encounter_id")
    )
    claim_diagnoses = claim_diagnoses.with_columns(
        id=context.ids("claim_diagnoses", claim_diagnoses.height), tenant_id=tenant
    )
    line_source = all_claims.select(
        claim_id="id", invoice_id="invoice_id", rendering_npi="npi"
    ).join(
        charges.select(
            "invoice_id",
            charge_id="id",
            code_system="code_system",
            code="code",
            units="units",
            service_date="service_date",
            amount_cents="amount_cents",
            d1="diagnosis1_id",
            d2="diagnosis2_id",
            d3="diagnosis3_id",
            d4="diagnosis4_id",
        ),
        on="invoice_id",
        maintain_order="left",
    )
    line_source = line_source.sort("claim_id", "charge_id").with_columns(
        line_number=pl.int_range(1, pl.len() + 1).over("claim_id").cast(pl.Int16),
        diagnosis_pointers=pl.concat_list(
            pl.lit(1),
            pl.when(pl.col("d2").is_not_null()).then(2),
            pl.when(pl.col("d3").is_not_null()).then(3),
            pl.when(pl.col("d4").is_not_null()).then(4),
        )
        .list.drop_nulls()
        .cast(pl.List(pl.Int16)),
    )
    claim_lines = line_source.select(
        "claim_id",
        "line_number",
        "charge_id",
        "code_system",
        "code",
        "units",
        "service_date",
        "amount_cents",
        "diagnosis_pointers",
        "rendering_npi",
    ).with_columns(id=context.ids("claim_lines", line_source.height), tenant_id=tenant)

    # Claim history, event by event, as the services record it.
    events = []

    def add(
        claim_ids: pl.Series,
        action: str,
        before: str | None,
        after: str,
        days: np.ndarray,
        **extra: pl.Series | None,
    ) -> None:
        frame = pl.DataFrame(
            {"claim_id": claim_ids, "occurred_at": _instant(days, rng)}
        ).with_columns(
            action=pl.lit(action),
            from_status=pl.lit(before, dtype=pl.String),
            to_status=pl.lit(after),
            reason_code=extra.get("reason", pl.Series([None] * len(claim_ids), dtype=pl.String)),
            reference=extra.get("reference", pl.Series([None] * len(claim_ids), dtype=pl.String)),
        )
        events.append(frame)

    ids = originals["id"]
    add(ids, "create", None, "draft", submitted)
    add(ids, "submit", "draft", "submitted", submitted)
    was_denied = pl.Series(denied)
    add(
        ids.filter(was_denied),
        "deny",
        "submitted",
        "denied",
        decided[denied],
        reason=pl.Series(denial_reason[denied]),
    )
    first_accepted = accepted & ~resubmitted
    add(
        ids.filter(pl.Series(first_accepted)),
        "accept",
        "submitted",
        "accepted",
        accept_day[first_accepted],
    )
    first_remit = remitted & ~resubmitted
    add(ids.filter(pl.Series(first_remit)), "remit", "accepted", "paid", remit_day[first_remit])
    replaced = pl.Series(resubmitted)
    add(
        ids.filter(replaced),
        "replace",
        "denied",
        "denied",
        resubmit_day[resubmitted],
        reference=replacement_ids.filter(replaced),
    )
    rid = replacement_ids
    add(rid.filter(replaced), "create", None, "draft", resubmit_day[resubmitted])
    add(rid.filter(replaced), "submit", "draft", "submitted", resubmit_day[resubmitted])
    again = denied_again & (accept_day < as_of)
    add(
        rid.filter(pl.Series(again)),
        "deny",
        "submitted",
        "denied",
        accept_day[again],
        reason=pl.Series(denial_reason[again]),
    )
    second_accepted = resubmitted & accepted
    add(
        rid.filter(pl.Series(second_accepted)),
        "accept",
        "submitted",
        "accepted",
        accept_day[second_accepted],
    )
    second_remit = resubmitted & remitted
    add(rid.filter(pl.Series(second_remit)), "remit", "accepted", "paid", remit_day[second_remit])
    claim_events = pl.concat(events)
    # A partially paid remittance ends in partially_paid, not paid.
    partial_ids = pl.concat(
        [
            ids.filter(pl.Series(first_remit & partial)),
            rid.filter(pl.Series(second_remit & partial)),
        ]
    )
    claim_events = claim_events.with_columns(
        to_status=pl.when(
            (pl.col("action") == "remit") & pl.col("claim_id").is_in(partial_ids.implode())
        )
        .then(pl.lit("partially_paid"))
        .otherwise(pl.col("to_status"))
    )
    claim_events = claim_events.with_columns(
        id=context.ids("claim_events", claim_events.height), tenant_id=tenant
    )

    # Remittances: one per payer and week.
    paid_claim = np.where(resubmitted, replacement_ids.to_numpy(), ids.to_numpy())
    remit = pl.DataFrame(
        {
            "claim_id": paid_claim,
            "invoice_id": claims["invoice_id"],
            "patient_id": claims["patient_id"],
            "payer_id": claims["payer_id"],
            "remit_day": remit_day,
            "paid": payer_paid,
            "contractual": contractual,
            "responsibility": responsibility,
            "denied_finally": denied & ~resubmitted,
            "write_off_day": decided + 60,
            "total": total,
            "remitted": remitted,
        }
    )
    paid = remit.filter(pl.col("remitted")).with_columns(week=(pl.col("remit_day") // 7))
    batches = (
        paid.group_by("payer_id", "week")
        .agg(
            paid_cents=pl.col("paid").sum(),
            claim_count=pl.len().cast(pl.Int16),
            received=pl.col("remit_day").max(),
        )
        .sort("payer_id", "week")
    )
    batches = batches.with_columns(
        id=context.ids("remittances", batches.height),
        reference=pl.lit("ERA-")
        + pl.col("week").cast(pl.String)
        + "-"
        + pl.col("payer_id").str.slice(0, 8),
    )
    remittances = batches.select(
        "id",
        "payer_id",
        "reference",
        "paid_cents",
        "claim_count",
        received_on=pl.col("received").cast(pl.Int32).cast(pl.Date),
        posted_at=pl.Series(_instant(batches["received"].to_numpy(), rng)),
        method=pl.lit("eft"),
        tenant_id=tenant,
    )
    paid = paid.join(
        batches.select(
            "payer_id", "week", remittance_id="id", posted_at=pl.Series(remittances["posted_at"])
        ),
        on=["payer_id", "week"],
        maintain_order="left",
    )
    paid = paid.with_columns(posted_on=pl.col("remit_day").cast(pl.Int32).cast(pl.Date))
    payer_payments = paid.filter(pl.col("paid") > 0).select(
        "invoice_id",
        "patient_id",
        "payer_id",
        "claim_id",
        "remittance_id",
        "posted_on",
        "posted_at",
        amount_cents="paid",
        source=pl.lit("payer"),
        method=pl.lit("eft"),
        reference=pl.lit("EFT"),
    )
    pr_codes = np.array(["PR-1", "PR-2", "PR-3"])[rng.choice(3, paid.height, p=[0.4, 0.4, 0.2])]
    adjustments = [
        paid.filter(pl.col("contractual") > 0).select(
            "invoice_id",
            "patient_id",
            "claim_id",
            "remittance_id",
            "posted_on",
            "posted_at",
            amount_cents="contractual",
            kind=pl.lit("contractual"),
            group_code=pl.lit("CO"),
            reason_code=pl.lit("45"),
        ),
        paid.with_columns(code=pl.Series(pr_codes))
        .filter(pl.col("responsibility") > 0)
        .select(
            "invoice_id",
            "patient_id",
            "claim_id",
            "remittance_id",
            "posted_on",
            "posted_at",
            amount_cents="responsibility",
            kind=pl.lit("patient_responsibility"),
            group_code=pl.lit("PR"),
            reason_code=pl.col("code").str.slice(3),
        ),
    ]
    # Denied claims never corrected are written off two months after the denial.
    written_off = remit.filter(pl.col("denied_finally") & (pl.col("write_off_day") < as_of))
    adjustments.append(
        written_off.select(
            "invoice_id",
            "patient_id",
            "claim_id",
            remittance_id=pl.lit(None, dtype=pl.String),
            posted_on=pl.col("write_off_day").cast(pl.Int32).cast(pl.Date),
            posted_at=pl.Series(_instant(written_off["write_off_day"].to_numpy(), rng)),
            amount_cents="total",
            kind=pl.lit("write_off"),
            group_code=pl.lit("CO"),
            reason_code=pl.lit("16"),
        )
    )

    # Patients pay what they owe: after the remittance, or for self-pay visits directly.
    owed = paid.filter(
        (pl.col("responsibility") > 0) & ~pl.col("claim_id").is_in(partial_ids.implode())
    )
    pays = rng.random(owed.height) < model.PATIENT_PAYS_SHARE
    pay_day = owed["remit_day"].to_numpy() + rng.integers(10, 60, owed.height)
    owed = owed.with_columns(pay_day=pl.Series(pay_day)).filter(
        pl.Series(pays) & (pl.col("pay_day") < as_of)
    )
    self_pay = visits.filter(pl.col("payer_type") == "self_pay").join(
        totals, on="invoice_id", maintain_order="left"
    )
    self_pays = rng.random(self_pay.height) < 0.5
    self_day = self_pay["captured_day"].to_numpy() + rng.integers(0, 45, self_pay.height)
    self_pay = self_pay.with_columns(pay_day=pl.Series(self_day)).filter(
        pl.Series(self_pays) & (pl.col("pay_day") < as_of)
    )
    patient_payments = pl.concat(
        [
            owed.select("invoice_id", "patient_id", "pay_day", amount_cents="responsibility"),
            self_pay.select("invoice_id", "patient_id", "pay_day", amount_cents="total"),
        ]
    )
    methods = np.array(["card", "cash", "check"])[
        rng.choice(3, patient_payments.height, p=[0.75, 0.1, 0.15])
    ]
    patient_payments = patient_payments.select(
        "invoice_id",
        "patient_id",
        "amount_cents",
        posted_on=pl.col("pay_day").cast(pl.Int32).cast(pl.Date),
        posted_at=pl.Series(_instant(patient_payments["pay_day"].to_numpy(), rng)),
        payer_id=pl.lit(None, dtype=pl.String),
        claim_id=pl.lit(None, dtype=pl.String),
        remittance_id=pl.lit(None, dtype=pl.String),
        source=pl.lit("patient"),
        method=pl.Series(methods),
        reference=pl.lit(None, dtype=pl.String),
    )
    payments = pl.concat([payer_payments, patient_payments], how="diagonal_relaxed")
    payments = payments.with_columns(
        id=context.ids("payments", payments.height),
        tenant_id=tenant,
        created_at="posted_at",
        updated_at="posted_at",
    )
    adjustments_table = pl.concat(adjustments, how="diagonal_relaxed")
    adjustments_table = adjustments_table.with_columns(
        id=context.ids("adjustments", adjustments_table.height),
        tenant_id=tenant,
        created_at="posted_at",
        updated_at="posted_at",
    )
    return {
        "invoices": invoices,
        "charges": charges.select(
            "id",
            "tenant_id",
            "invoice_id",
            "encounter_id",
            "procedure_id",
            "code_system",
            "code",
            "units",
            "service_date",
            "rendering_practitioner_id",
            "location_id",
            "department_id",
            "fee_schedule_id",
            "unit_price_cents",
            "amount_cents",
            "diagnosis1_id",
            "diagnosis2_id",
            "diagnosis3_id",
            "diagnosis4_id",
            "status",
            "posted_at",
            "patient_id",
            "created_at",
            "updated_at",
        ),
        "remittances": remittances,
        "claims": claims_table,
        "claim_diagnoses": claim_diagnoses,
        "claim_lines": claim_lines,
        "claim_events": claim_events,
        "payments": payments,
        "adjustments": adjustments_table,
    }
