{{ config(order_by='(tenant_id, service_month)') }}

-- Collections by month of service: what was charged for the month's services and what has
-- been collected and adjusted on them by the as-of date. Recent months are still being paid.
--   gross collection rate = payments / gross charges
--   net collection rate   = payments / (gross charges - contractual adjustments)
with accounts as (
    select
        tenant_id,
        service_month,
        count() as invoice_count,
        uniqExact(patient_id) as patient_count,
        sum(charges_cents) as charges_cents,
        sum(payments_cents) as payments_cents,
        sum(payer_payments_cents) as payer_payments_cents,
        sum(patient_payments_cents) as patient_payments_cents,
        sum(contractual_adjustments_cents) as contractual_adjustments_cents,
        sum(write_off_cents) as write_off_cents,
        sum(balance_cents) as balance_cents
    from {{ ref('rev_invoices') }}
    group by tenant_id, service_month
),

lags as (
    select tenant_id, service_month, count() as charge_line_count, avg(charge_lag_days) as average_charge_lag_days
    from {{ ref('rev_charge_lines') }}
    group by tenant_id, service_month
),

rates as (
    select
        a.tenant_id as tenant_id,
        a.service_month as service_month,
        a.invoice_count as invoice_count,
        a.patient_count as patient_count,
        a.charges_cents as charges_cents,
        a.payments_cents as payments_cents,
        a.payer_payments_cents as payer_payments_cents,
        a.patient_payments_cents as patient_payments_cents,
        a.contractual_adjustments_cents as contractual_adjustments_cents,
        a.write_off_cents as write_off_cents,
        a.balance_cents as balance_cents,
        coalesce(l.charge_line_count, 0) as charge_line_count,
        l.average_charge_lag_days as average_charge_lag_days,
        if(a.charges_cents > 0, a.payments_cents / a.charges_cents, null) as gross_collection_rate,
        if(a.charges_cents - a.contractual_adjustments_cents > 0,
            a.payments_cents / (a.charges_cents - a.contractual_adjustments_cents), null) as net_collection_rate
    from accounts as a
    left join lags as l on l.tenant_id = a.tenant_id and l.service_month = a.service_month
)

{% set counts = ['invoice_count', 'patient_count'] %}
select
    cell.tenant_id as tenant_id,
    cell.service_month as service_month,
    {{ suppressed_integer('invoice_count', counts) }} as invoice_count,
    {{ suppressed_integer('patient_count', counts) }} as patient_count,
    {{ suppressed_integer('charges_cents', counts) }} as charges_cents,
    {{ suppressed_integer('payments_cents', counts) }} as payments_cents,
    {{ suppressed_integer('payer_payments_cents', counts) }} as payer_payments_cents,
    {{ suppressed_integer('patient_payments_cents', counts) }} as patient_payments_cents,
    {{ suppressed_integer('contractual_adjustments_cents', counts) }} as contractual_adjustments_cents,
    {{ suppressed_integer('write_off_cents', counts) }} as write_off_cents,
    {{ suppressed_integer('balance_cents', counts) }} as balance_cents,
    {{ suppress('gross_collection_rate', counts) }} as gross_collection_rate,
    {{ suppress('net_collection_rate', counts) }} as net_collection_rate,
    {{ suppress('average_charge_lag_days', counts + ['charge_line_count']) }} as average_charge_lag_days,
    {{ is_suppressed(counts + ['charge_line_count']) }} as is_suppressed,
    {{ as_of_date() }} as as_of_date
from rates as cell
