{{ config(order_by='(tenant_id)') }}

-- The tenant's revenue-cycle KPIs on the as-of date (formulas in dbt_project/README.md):
--   days in A/R          = A/R balance / (gross charges of the last 90 days / 90)
--   gross collection rate = payments / gross charges                  } services in the
--   net collection rate   = payments / (gross charges - contractual)   } twelve-month period
--   denial rate           = denied claims / submitted claims           }
--   charge lag            = mean days from date of service to charge posting
with accounts as (
    select
        tenant_id,
        sumIf(balance_cents, balance_cents > 0) as ar_balance_cents,
        countIf(balance_cents > 0) as open_invoice_count,
        countIf(service_date > addDays({{ as_of_date() }}, -90)) as invoices_last_90_days,
        sumIf(charges_cents, service_date > addDays({{ as_of_date() }}, -90)) as charges_last_90_days_cents,
        countIf(service_date >= {{ period_start_date() }}) as period_invoice_count,
        uniqExactIf(patient_id, service_date >= {{ period_start_date() }}) as period_patient_count,
        sumIf(charges_cents, service_date >= {{ period_start_date() }}) as period_charges_cents,
        sumIf(payments_cents, service_date >= {{ period_start_date() }}) as period_payments_cents,
        sumIf(contractual_adjustments_cents, service_date >= {{ period_start_date() }})
            as period_contractual_adjustments_cents,
        sumIf(write_off_cents, service_date >= {{ period_start_date() }}) as period_write_off_cents
    from {{ ref('rev_invoices') }}
    group by tenant_id
),

claims as (
    select
        tenant_id,
        countIf(is_submitted) as submitted_claims,
        countIf(is_denied) as denied_claims
    from {{ ref('rev_claims') }}
    where service_date >= {{ period_start_date() }}
    group by tenant_id
),

lags as (
    select
        tenant_id,
        count() as charge_line_count,
        avg(charge_lag_days) as average_charge_lag_days
    from {{ ref('rev_charge_lines') }}
    where service_date >= {{ period_start_date() }}
    group by tenant_id
),

kpis as (
    select
        a.tenant_id as tenant_id,
        a.open_invoice_count as open_invoice_count,
        a.ar_balance_cents as ar_balance_cents,
        a.invoices_last_90_days as invoices_last_90_days,
        a.charges_last_90_days_cents as charges_last_90_days_cents,
        toDecimal128(a.charges_last_90_days_cents, 4) / 90 as average_daily_charges_cents,
        if(a.charges_last_90_days_cents > 0,
            a.ar_balance_cents * 90 / a.charges_last_90_days_cents, null) as days_in_ar,
        a.period_invoice_count as period_invoice_count,
        a.period_patient_count as period_patient_count,
        a.period_charges_cents as period_charges_cents,
        a.period_payments_cents as period_payments_cents,
        a.period_contractual_adjustments_cents as period_contractual_adjustments_cents,
        a.period_write_off_cents as period_write_off_cents,
        if(a.period_charges_cents > 0,
            a.period_payments_cents / a.period_charges_cents, null) as gross_collection_rate,
        if(a.period_charges_cents - a.period_contractual_adjustments_cents > 0,
            a.period_payments_cents / (a.period_charges_cents - a.period_contractual_adjustments_cents),
            null) as net_collection_rate,
        coalesce(c.submitted_claims, 0) as submitted_claims,
        coalesce(c.denied_claims, 0) as denied_claims,
        if(c.submitted_claims > 0, c.denied_claims / c.submitted_claims, null) as denial_rate,
        coalesce(l.charge_line_count, 0) as charge_line_count,
        l.average_charge_lag_days as average_charge_lag_days
    from accounts as a
    left join claims as c on c.tenant_id = a.tenant_id
    left join lags as l on l.tenant_id = a.tenant_id
)

{% set period = ['period_invoice_count', 'period_patient_count'] %}
select
    cell.tenant_id as tenant_id,
    {{ as_of_date() }} as as_of_date,
    {{ period_start_date() }} as period_start,
    {{ as_of_date() }} as period_end,
    {{ suppressed_integer('open_invoice_count', 'open_invoice_count') }} as open_invoice_count,
    {{ suppressed_integer('ar_balance_cents', 'open_invoice_count') }} as ar_balance_cents,
    {{ suppressed_integer('invoices_last_90_days', 'invoices_last_90_days') }} as invoices_last_90_days,
    {{ suppressed_integer('charges_last_90_days_cents', 'invoices_last_90_days') }} as charges_last_90_days_cents,
    {{ suppress('toNullable(average_daily_charges_cents)', 'invoices_last_90_days') }} as average_daily_charges_cents,
    {{ suppress('days_in_ar', ['open_invoice_count', 'invoices_last_90_days']) }} as days_in_ar,
    {{ suppressed_integer('period_invoice_count', period) }} as period_invoice_count,
    {{ suppressed_integer('period_patient_count', period) }} as period_patient_count,
    {{ suppressed_integer('period_charges_cents', period) }} as period_charges_cents,
    {{ suppressed_integer('period_payments_cents', period) }} as period_payments_cents,
    {{ suppressed_integer('period_contractual_adjustments_cents', period) }} as period_contractual_adjustments_cents,
    {{ suppressed_integer('period_write_off_cents', period) }} as period_write_off_cents,
    {{ suppress('gross_collection_rate', period) }} as gross_collection_rate,
    {{ suppress('net_collection_rate', period) }} as net_collection_rate,
    {{ suppressed_integer('submitted_claims', 'submitted_claims') }} as submitted_claims,
    {{ suppressed_integer('denied_claims', 'denied_claims') }} as denied_claims,
    {{ suppress('denial_rate', ['submitted_claims', 'denied_claims']) }} as denial_rate,
    {{ suppress('average_charge_lag_days', 'charge_line_count') }} as average_charge_lag_days,
    {{ is_suppressed(['open_invoice_count', 'invoices_last_90_days'] + period + ['submitted_claims', 'denied_claims', 'charge_line_count']) }} as is_suppressed
from kpis as cell
