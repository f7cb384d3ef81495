{{ config(order_by='(tenant_id, payer_scope, payer_name, bucket_order)') }}

-- Accounts receivable on the as-of date by age since the date of service, per payer billed
-- (payer_scope 'payer') and over all payers (payer_scope 'all'). Only accounts with a balance
-- are receivable. Suppressed where fewer than 11 accounts or patients make the cell.
with open_accounts as (
    select *
    from {{ ref('rev_invoices') }}
    where balance_cents > 0
),

cells as (
    select
        tenant_id,
        'payer' as payer_scope,
        payer_id,
        payer_name,
        payer_type,
        aging_bucket,
        count() as open_invoice_count,
        uniqExact(patient_id) as patient_count,
        sum(balance_cents) as ar_balance_cents
    from open_accounts
    group by tenant_id, payer_id, payer_name, payer_type, aging_bucket

    union all

    select
        tenant_id,
        'all' as payer_scope,
        null as payer_id,
        'All payers' as payer_name,
        'all' as payer_type,
        aging_bucket,
        count() as open_invoice_count,
        uniqExact(patient_id) as patient_count,
        sum(balance_cents) as ar_balance_cents
    from open_accounts
    group by tenant_id, aging_bucket
)

{% set counts = ['open_invoice_count', 'patient_count'] %}
select
    cell.tenant_id as tenant_id,
    cell.payer_scope as payer_scope,
    toNullable(cell.payer_id) as payer_id,
    cell.payer_name as payer_name,
    cell.payer_type as payer_type,
    cell.aging_bucket as aging_bucket,
    toUInt8({{ aging_bucket_order('cell.aging_bucket') }}) as bucket_order,
    {{ suppressed_integer('open_invoice_count', counts) }} as open_invoice_count,
    {{ suppressed_integer('patient_count', counts) }} as patient_count,
    {{ suppressed_integer('ar_balance_cents', counts) }} as ar_balance_cents,
    {{ is_suppressed(counts) }} as is_suppressed,
    {{ as_of_date() }} as as_of_date
from cells as cell
