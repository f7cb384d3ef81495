"""One revenue KPI, A/R aging by payer, from the marts vs. asked of PostgreSQL directly (issue 6).

    .venv/bin/python -m tests.benchmarks.kpi_query --state-dir STATE --tenant SLUG [--as-of D]

STATE holds a populated PostgreSQL and a warehouse built by `emr pipeline run` (or
`tests.benchmarks.dbt_build`). PostgreSQL answers from the ledger rows (the same definition as
`rev_invoices`/`rev_ar_aging`: active charges, payments and contractual/write-off adjustments
posted by the as-of date, open balance by days since service); the warehouse answers from the
`rev_ar_aging` mart. Both answers are compared cell by cell (unsuppressed cells) before timing.
Prints one JSON line: median of `--repeat` timings for each side and the ratio.
"""

import argparse
import json
import os
import statistics
import time
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from transactional.capture.reader import libpq_uri
from transactional.database import resolve_urls
from transactional.settings import Settings
from warehouse.client import Warehouse

POSTGRES = """
WITH inv AS (
    SELECT i.id, i.patient_id, i.coverage_id, i.service_date
    FROM invoices AS i
    JOIN patients AS p ON p.tenant_id = i.tenant_id AND p.id = i.patient_id
    WHERE i.tenant_id = %(tenant)s AND i.voided_at IS NULL AND i.service_date <= %(as_of)s
      AND p.deleted_at IS NULL AND p.merged_into_id IS NULL AND p.birth_date <= %(as_of)s
),
ch AS (
    SELECT invoice_id, sum(amount_cents) AS cents FROM charges
    WHERE tenant_id = %(tenant)s AND status = 'active' AND posted_at::date <= %(as_of)s
    GROUP BY invoice_id
),
pay AS (
    SELECT invoice_id, sum(amount_cents) AS cents FROM payments
    WHERE tenant_id = %(tenant)s AND posted_on <= %(as_of)s GROUP BY invoice_id
),
adj AS (
    SELECT invoice_id, sum(amount_cents) AS cents FROM adjustments
    WHERE tenant_id = %(tenant)s AND posted_on <= %(as_of)s
      AND kind IN ('contractual', 'write_off')
    GROUP BY invoice_id
),
open AS (
    SELECT inv.patient_id, coalesce(y.name, 'No coverage') AS payer_name,
           coalesce(ch.cents, 0) - coalesce(pay.cents, 0) - coalesce(adj.cents, 0) AS balance,
           %(as_of)s::date - inv.service_date AS days
    FROM inv
    LEFT JOIN ch ON ch.invoice_id = inv.id
    LEFT JOIN pay ON pay.invoice_id = inv.id
    LEFT JOIN adj ON adj.invoice_id = inv.id
    LEFT JOIN coverages AS cv ON cv.tenant_id = %(tenant)s AND cv.id = inv.coverage_id
    LEFT JOIN payers AS y ON y.tenant_id = %(tenant)s AND y.id = cv.payer_id
)
SELECT payer_name,
       CASE WHEN days <= 30 THEN '0-30' WHEN days <= 60 THEN '31-60'
            WHEN days <= 90 THEN '61-90' WHEN days <= 120 THEN '91-120' ELSE '120+' END AS bucket,
       count(*) AS invoices, sum(balance) AS cents
FROM open WHERE balance > 0
GROUP BY 1, 2 ORDER BY 1, 2
"""

MART = """
SELECT payer_name, aging_bucket, open_invoice_count, ar_balance_cents
FROM analytics.rev_ar_aging
WHERE tenant_id = {tenant:UUID} AND payer_scope = 'payer' AND NOT is_suppressed
ORDER BY payer_name, aging_bucket
"""


def _timed(run: Any, repeat: int) -> tuple[float, Any]:
    timings, answer = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        answer = run()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings), answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--tenant", required=True, help="tenant slug")
    parser.add_argument("--as-of", default=date.today().isoformat())
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    settings = Settings(state_dir=arguments.state_dir)
    owner = resolve_urls(settings).owner

    with psycopg.connect(libpq_uri(owner)) as connection:
        row = connection.execute(
            "SELECT id FROM tenants WHERE slug = %s", (arguments.tenant,)
        ).fetchone()
        if row is None:
            raise SystemExit(f"no tenant {arguments.tenant!r}")
        tenant = row[0]
        parameters = {"tenant": tenant, "as_of": arguments.as_of}
        postgres_seconds, postgres_rows = _timed(
            lambda: connection.execute(POSTGRES, parameters).fetchall(), arguments.repeat
        )

    with Warehouse.from_settings(settings).connect() as client:
        mart_seconds, mart_rows = _timed(
            lambda: client.query(MART, parameters={"tenant": str(tenant)}).result_rows,
            arguments.repeat,
        )

    expected = {(p, b): (int(n), int(c)) for p, b, n, c in postgres_rows}
    compared = {(p, b): (int(n), int(c)) for p, b, n, c in mart_rows}
    mismatched = [k for k, v in compared.items() if expected.get(k) != v]
    print(
        json.dumps(
            {
                "cores": os.cpu_count(),
                "kpi": "A/R aging by payer",
                "cells_compared": len(compared),
                "cells_mismatched": len(mismatched),
                "postgres_seconds": round(postgres_seconds, 4),
                "mart_seconds": round(mart_seconds, 4),
                "speedup": round(postgres_seconds / mart_seconds, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
