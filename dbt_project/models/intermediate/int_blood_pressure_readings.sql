{{ config(order_by='(tenant_id, patient_id, measured_at)') }}

-- Blood pressure readings: a systolic and a diastolic observation (final) of one patient taken
-- at the same instant, on or before the as-of date.
with readings as (
    select
        o.tenant_id as tenant_id,
        o.patient_id as patient_id,
        o.effective_at as measured_at,
        v.value_set as value_set,
        o.value as value
    from {{ ref('stg_observations') }} as o
    inner join {{ ref('value_sets') }} as v
        on v.code_system = o.code_system and v.code = o.code
    where o.status = 'final'
        and v.value_set in ('systolic_blood_pressure', 'diastolic_blood_pressure')
        -- a set filter first, so the join and grouping see blood pressures only
        and (o.code_system, o.code) in (
            select code_system, code
            from {{ ref('value_sets') }}
            where value_set in ('systolic_blood_pressure', 'diastolic_blood_pressure')
        )
        and toDate32(o.effective_at) <= {{ as_of_date() }}
)

select
    any(r.tenant_id) as tenant_id,
    r.patient_id as patient_id,
    r.measured_at as measured_at,
    toDate32(r.measured_at) as measured_date,
    maxIf(r.value, r.value_set = 'systolic_blood_pressure') as systolic_mm_hg,
    maxIf(r.value, r.value_set = 'diastolic_blood_pressure') as diastolic_mm_hg
from readings as r
inner join {{ ref('int_patients') }} as p
    on p.patient_id = r.patient_id
group by r.patient_id, r.measured_at
having countIf(r.value_set = 'systolic_blood_pressure') > 0
    and countIf(r.value_set = 'diastolic_blood_pressure') > 0
