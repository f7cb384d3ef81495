{{ config(order_by='(tenant_id, patient_id)') }}

-- Measure statin_therapy (after CMS347): statin-eligible patients (denominator) - clinical
-- ASCVD aged 21+, or an LDL-C of 190 mg/dL or more ever aged 21+, or type 2 diabetes aged
-- 40-75 - with end-stage renal disease excluded, who had a statin prescription in effect at
-- any time in the twelve-month period (numerator). Its care gap: statin-eligible, no statin.
with conditions as (
    select
        tenant_id,
        patient_id,
        max(condition = 'ascvd' and is_active) as has_ascvd,
        max(condition = 'type_2_diabetes' and is_active) as has_diabetes
    from {{ ref('ph_chronic_condition_registry') }}
    where condition in ('ascvd', 'type_2_diabetes')
    group by tenant_id, patient_id
),

high_ldl as (
    select distinct tenant_id, patient_id
    from {{ ref('int_lab_results_coded') }}
    where value_set = 'ldl_cholesterol' and value >= 190
),

population as (
    select
        p.tenant_id as tenant_id,
        p.patient_id as patient_id,
        p.age_years as age_years,
        coalesce(c.has_ascvd, false) as has_ascvd,
        coalesce(c.has_diabetes, false) as has_diabetes,
        l.patient_id is not null as has_ldl_190
    from {{ ref('int_patients') }} as p
    left join conditions as c on c.patient_id = p.patient_id
    left join high_ldl as l on l.patient_id = p.patient_id
    where not p.is_deceased
        and (coalesce(c.has_ascvd, false) or coalesce(c.has_diabetes, false) or l.patient_id is not null)
),

statins as (
    select
        tenant_id,
        patient_id,
        max(start_date) as last_start_date,
        argMax(medication_system, (start_date, prescription_id)) as last_system,
        argMax(medication_code, (start_date, prescription_id)) as last_code,
        argMax(medication_display, (start_date, prescription_id)) as last_display
    from {{ ref('int_statin_prescriptions') }}
    where start_date <= {{ as_of_date() }}
        and (stop_date is null or stop_date >= {{ period_start_date() }})
    group by tenant_id, patient_id
),

esrd as (
    select distinct tenant_id, patient_id
    from {{ ref('int_condition_matches') }}
    where value_set = 'end_stage_renal_disease' and is_active
),

flags as (
    select
        pop.tenant_id as tenant_id,
        pop.patient_id as patient_id,
        (pop.has_ascvd and pop.age_years >= 21)
            or (pop.has_ldl_190 and pop.age_years >= 21)
            or (pop.has_diabetes and pop.age_years between 40 and 75) as is_in_denominator,
        x.patient_id is not null as is_excluded,
        s.last_start_date as evidence_date,
        s.last_system as evidence_code_system,
        s.last_code as evidence_code,
        s.last_display as evidence_text
    from population as pop
    left join statins as s on s.patient_id = pop.patient_id
    left join esrd as x on x.patient_id = pop.patient_id
)

select
    tenant_id,
    patient_id,
    'statin_therapy' as measure_id,
    {{ measure_version() }} as measure_version,
    {{ period_start_date() }} as period_start,
    {{ as_of_date() }} as period_end,
    toBool(is_in_denominator) as is_in_denominator,
    toBool(is_excluded) as is_excluded,
    if(is_excluded, 'end_stage_renal_disease', null) as exclusion_reason,
    toBool(is_in_denominator and not is_excluded and evidence_date is not null) as is_in_numerator,
    evidence_date,
    evidence_code_system,
    evidence_code,
    cast(null as Nullable(Decimal(18, 4))) as evidence_value,
    cast(null as Nullable(String)) as evidence_unit,
    evidence_text
from flags
