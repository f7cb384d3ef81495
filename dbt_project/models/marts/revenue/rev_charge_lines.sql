{{ config(order_by='(tenant_id, service_month, charge_id)') }}

-- Active (not voided) charges posted by the as-of date for services on or before it: one row
-- per billed service, with who rendered it, the department, the payer billed and the lag
-- between the date of service and the date the charge was posted.
select
    c.tenant_id as tenant_id,
    c.id as charge_id,
    c.invoice_id as invoice_id,
    c.encounter_id as encounter_id,
    c.patient_id as patient_id,
    c.service_date as service_date,
    toStartOfMonth(c.service_date) as service_month,
    toDate32(c.posted_at) as posted_date,
    toInt32(dateDiff('day', c.service_date, toDate32(c.posted_at))) as charge_lag_days,
    c.code_system as code_system,
    c.code as code,
    c.units as units,
    c.amount_cents as amount_cents,
    c.rendering_practitioner_id as rendering_practitioner_id,
    coalesce(pr.display_name, 'Unknown practitioner') as rendering_practitioner_name,
    coalesce(c.department_id, pr.department_id) as department_id,
    coalesce(d.name, 'No department') as department_name,
    i.payer_id as payer_id,
    i.payer_name as payer_name,
    i.payer_type as payer_type
from {{ ref('stg_charges') }} as c
inner join {{ ref('rev_invoices') }} as i
    on i.invoice_id = c.invoice_id
left join {{ ref('stg_practitioners') }} as pr
    on pr.id = c.rendering_practitioner_id
left join {{ ref('stg_departments') }} as d
    on d.id = coalesce(c.department_id, pr.department_id)
where c.status = 'active'
    and toDate32(c.posted_at) <= {{ as_of_date() }}
