{{ config(order_by='(tenant_id, patient_id, value_set, effective_at)') }}

-- Current lab results (preliminary or final; superseded and erroneous ones left out) whose
-- LOINC code is in a value set, on or before the as-of date.
select
    r.tenant_id as tenant_id,
    r.patient_id as patient_id,
    r.id as lab_result_id,
    v.value_set as value_set,
    r.code_system as code_system,
    r.code as code,
    r.value as value,
    r.unit as unit,
    r.effective_at as effective_at,
    toDate32(r.effective_at) as effective_date
from {{ ref('stg_lab_results') }} as r
inner join {{ ref('value_sets') }} as v
    on v.code_system = r.code_system and v.code = r.code
inner join {{ ref('int_patients') }} as p
    on p.patient_id = r.patient_id
where r.status in ('preliminary', 'final')
    and (r.code_system, r.code) in (select code_system, code from {{ ref('value_sets') }})
    and toDate32(r.effective_at) <= {{ as_of_date() }}
