{{ config(order_by='(tenant_id, payer_name)') }}

-- Payer mix over services in the twelve-month period: each payer's share of encounters billed
-- (invoices) and of gross charges. "No coverage" collects invoices billed to no coverage.
--   encounter share = payer's invoices / all invoices;  charge share = payer's charges / all charges
with by_payer as (
    select
        tenant_id,
        payer_id,
        payer_name,
        payer_type,
        count() as invoice_count,
        uniqExact(patient_id) as patient_count,
        sum(charges_cents) as charges_cents,
        sum(payments_cents) as payments_cents
    from {{ ref('rev_invoices') }}
    where service_date >= {{ period_start_date() }}
    group by tenant_id, payer_id, payer_name, payer_type
),

totals as (
    select tenant_id, sum(invoice_count) as all_invoices, sum(charges_cents) as all_charges_cents
    from by_payer
    group by tenant_id
),

cells as (
    select
        b.tenant_id as tenant_id,
        b.payer_id as payer_id,
        b.payer_name as payer_name,
        b.payer_type as payer_type,
        b.invoice_count as invoice_count,
        b.patient_count as patient_count,
        b.charges_cents as charges_cents,
        b.payments_cents as payments_cents,
        b.invoice_count / t.all_invoices as encounter_share,
        if(t.all_charges_cents > 0, b.charges_cents / t.all_charges_cents, null) as charge_share
    from by_payer as b
    inner join totals as t on t.tenant_id = b.tenant_id
)

{% set counts = ['invoice_count', 'patient_count'] %}
select
    cell.tenant_id as tenant_id,
    cell.payer_id as payer_id,
    cell.payer_name as payer_name,
    cell.payer_type as payer_type,
    {{ period_start_date() }} as period_start,
    {{ as_of_date() }} as period_end,
    {{ suppressed_integer('invoice_count', counts) }} as invoice_count,
    {{ suppressed_integer('patient_count', counts) }} as patient_count,
    {{ suppressed_integer('charges_cents', counts) }} as charges_cents,
    {{ suppressed_integer('payments_cents', counts) }} as payments_cents,
    {{ suppress('encounter_share', counts) }} as encounter_share,
    {{ suppress('charge_share', counts) }} as charge_share,
    {{ is_suppressed(counts) }} as is_suppressed
from cells as cell
