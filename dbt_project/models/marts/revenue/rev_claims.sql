{{ config(order_by='(tenant_id, claim_id)') }}

-- Claims created by the as-of date, with their payer, the service date of their invoice and
-- whether the payer denied them. Status is the claim's current status. A replacement claim
-- (frequency code 7) is a claim of its own: each submission can be denied.
select
    c.tenant_id as tenant_id,
    c.id as claim_id,
    c.invoice_id as invoice_id,
    c.patient_id as patient_id,
    c.payer_id as payer_id,
    y.name as payer_name,
    y.payer_type as payer_type,
    i.service_date as service_date,
    toDate32(c.created_at) as created_date,
    c.status as status,
    toBool(c.status != 'draft') as is_submitted,
    toBool(c.status = 'denied') as is_denied,
    toBool(c.frequency_code = '7') as is_replacement,
    c.denial_group_code as denial_group_code,
    c.denial_reason_code as denial_reason_code,
    c.total_charge_cents as total_charge_cents
from {{ ref('stg_claims') }} as c
inner join {{ ref('rev_invoices') }} as i
    on i.invoice_id = c.invoice_id
inner join {{ ref('stg_payers') }} as y
    on y.id = c.payer_id
where toDate32(c.created_at) <= {{ as_of_date() }}
