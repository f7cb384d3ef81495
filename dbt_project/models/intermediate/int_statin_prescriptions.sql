{{ config(order_by='(tenant_id, patient_id, prescription_id)') }}

-- Signed statin prescriptions (the product or any of its ingredients in the statins value
-- set), with the dates they were in effect: from signing until stopped, or still running.
-- Drafts and cancelled orders were never taken.
with statin_codes as (
    select code
    from {{ ref('value_sets') }}
    where value_set = 'statins'
)

select
    r.tenant_id as tenant_id,
    r.patient_id as patient_id,
    r.id as prescription_id,
    r.medication_system as medication_system,
    r.medication_code as medication_code,
    r.medication_display as medication_display,
    r.status as status,
    toDate32(coalesce(r.signed_at, r.created_at)) as start_date,
    toDate32(r.stopped_at) as stop_date
from {{ ref('stg_prescriptions') }} as r
inner join {{ ref('int_patients') }} as p
    on p.patient_id = r.patient_id
where r.status not in ('draft', 'cancelled')
    and r.medication_system = 'http://www.nlm.nih.gov/research/umls/rxnorm'
    and (
        r.medication_code in (select code from statin_codes)
        or hasAny(r.ingredient_codes, (select groupArray(code) from statin_codes))
    )
    and toDate32(coalesce(r.signed_at, r.created_at)) <= {{ as_of_date() }}
