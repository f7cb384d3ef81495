{{ config(order_by='(tenant_id, patient_id)') }}

-- A rule-based risk tier for every living registered patient on the as-of date, from the
-- number of active chronic conditions of the registry and utilization in the twelve-month
-- period (README "Risk tiers"):
--   high   : >= 2 inpatient admissions, or >= 3 ED visits, or >= 4 chronic conditions,
--            or an admission and >= 2 chronic conditions
--   rising : an admission, or an ED visit, or >= 2 chronic conditions
--   low    : everyone else
-- Model-based scores replace it when the risk models arrive; the rule stays as a baseline.
with conditions as (
    select
        tenant_id,
        patient_id,
        countIf(is_active) as chronic_condition_count,
        groupArrayIf(condition, is_active) as active_conditions
    from {{ ref('ph_chronic_condition_registry') }}
    group by tenant_id, patient_id
),

utilization as (
    select
        tenant_id,
        patient_id,
        countIf(is_emergency) as ed_visits_12m,
        countIf(is_inpatient) as inpatient_admissions_12m
    from {{ ref('int_encounters') }}
    where encounter_date >= {{ period_start_date() }}
    group by tenant_id, patient_id
),

current_payer as (
    select tenant_id, patient_id, payer_id, payer_name, payer_type
    from {{ ref('int_member_months') }}
    where month_start = toStartOfMonth({{ as_of_date() }})
),

patients as (
    select
        p.tenant_id as tenant_id,
        p.patient_id as patient_id,
        p.age_years as age_years,
        p.age_band as age_band,
        p.sex as sex,
        cp.payer_id as payer_id,
        coalesce(cp.payer_type, 'uninsured') as payer_type,
        toInt32(coalesce(c.chronic_condition_count, 0)) as chronic_condition_count,
        coalesce(c.active_conditions, []) as active_conditions,
        toInt32(coalesce(u.ed_visits_12m, 0)) as ed_visits_12m,
        toInt32(coalesce(u.inpatient_admissions_12m, 0)) as inpatient_admissions_12m
    from {{ ref('int_patients') }} as p
    left join conditions as c on c.patient_id = p.patient_id
    left join utilization as u on u.patient_id = p.patient_id
    left join current_payer as cp on cp.patient_id = p.patient_id
    where not p.is_deceased
)

select
    tenant_id,
    patient_id,
    age_years,
    age_band,
    sex,
    payer_id,
    payer_type,
    chronic_condition_count,
    active_conditions,
    ed_visits_12m,
    inpatient_admissions_12m,
    multiIf(
        inpatient_admissions_12m >= 2
            or ed_visits_12m >= 3
            or chronic_condition_count >= 4
            or (inpatient_admissions_12m >= 1 and chronic_condition_count >= 2), 'high',
        inpatient_admissions_12m >= 1 or ed_visits_12m >= 1 or chronic_condition_count >= 2, 'rising',
        'low'
    ) as risk_tier,
    {{ as_of_date() }} as as_of_date
from patients
