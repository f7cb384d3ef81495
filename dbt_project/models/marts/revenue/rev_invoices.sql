{{ config(order_by='(tenant_id, invoice_id)') }}

-- The account of each encounter as it stood on the as-of date, rebuilt from the ledger rows
-- posted by then (not from the invoice's running totals, which are "as of now"). Void
-- invoices and services after the as-of date are left out.
with invoices as (
    select i.*
    from {{ ref('stg_invoices') }} as i
    inner join {{ ref('int_patients') }} as p
        on p.patient_id = i.patient_id
    where i.voided_at is null and i.service_date <= {{ as_of_date() }}
),

charges as (
    select tenant_id, invoice_id, sum(amount_cents) as charges_cents
    from {{ ref('stg_charges') }}
    where status = 'active' and toDate32(posted_at) <= {{ as_of_date() }}
    group by tenant_id, invoice_id
),

payments as (
    select
        tenant_id,
        invoice_id,
        sum(amount_cents) as payments_cents,
        sumIf(amount_cents, source = 'payer') as payer_payments_cents,
        sumIf(amount_cents, source = 'patient') as patient_payments_cents
    from {{ ref('stg_payments') }}
    where posted_on <= {{ as_of_date() }}
    group by tenant_id, invoice_id
),

adjustments as (
    select
        tenant_id,
        invoice_id,
        sumIf(amount_cents, kind = 'contractual') as contractual_adjustments_cents,
        sumIf(amount_cents, kind = 'write_off') as write_off_cents,
        sumIf(amount_cents, kind = 'patient_responsibility') as patient_responsibility_cents
    from {{ ref('stg_adjustments') }}
    where posted_on <= {{ as_of_date() }}
    group by tenant_id, invoice_id
),

ledger as (
    select
        i.tenant_id as tenant_id,
        i.id as invoice_id,
        i.encounter_id as encounter_id,
        i.patient_id as patient_id,
        i.coverage_id as coverage_id,
        i.service_date as service_date,
        toInt64(coalesce(c.charges_cents, 0)) as charges_cents,
        toInt64(coalesce(p.payments_cents, 0)) as payments_cents,
        toInt64(coalesce(p.payer_payments_cents, 0)) as payer_payments_cents,
        toInt64(coalesce(p.patient_payments_cents, 0)) as patient_payments_cents,
        toInt64(coalesce(a.contractual_adjustments_cents, 0)) as contractual_adjustments_cents,
        toInt64(coalesce(a.write_off_cents, 0)) as write_off_cents,
        toInt64(coalesce(a.patient_responsibility_cents, 0)) as patient_responsibility_cents
    from invoices as i
    left join charges as c on c.invoice_id = i.id
    left join payments as p on p.invoice_id = i.id
    left join adjustments as a on a.invoice_id = i.id
)

select
    l.tenant_id as tenant_id,
    l.invoice_id as invoice_id,
    l.encounter_id as encounter_id,
    l.patient_id as patient_id,
    l.service_date as service_date,
    toStartOfMonth(l.service_date) as service_month,
    cv.payer_id as payer_id,
    coalesce(y.name, 'No coverage') as payer_name,
    coalesce(y.payer_type, 'uninsured') as payer_type,
    l.charges_cents as charges_cents,
    l.payments_cents as payments_cents,
    l.payer_payments_cents as payer_payments_cents,
    l.patient_payments_cents as patient_payments_cents,
    l.contractual_adjustments_cents as contractual_adjustments_cents,
    l.write_off_cents as write_off_cents,
    l.patient_responsibility_cents as patient_responsibility_cents,
    l.charges_cents - l.payments_cents - l.contractual_adjustments_cents - l.write_off_cents
        as balance_cents,
    toInt32(dateDiff('day', l.service_date, {{ as_of_date() }})) as days_outstanding,
    {{ aging_bucket("dateDiff('day', l.service_date, " ~ as_of_date() ~ ")") }} as aging_bucket,
    {{ as_of_date() }} as as_of_date
from ledger as l
left join {{ ref('stg_coverages') }} as cv
    on cv.id = l.coverage_id
left join {{ ref('stg_payers') }} as y
    on y.id = cv.payer_id
