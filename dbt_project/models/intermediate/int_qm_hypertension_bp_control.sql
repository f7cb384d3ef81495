{{ config(order_by='(tenant_id, patient_id)') }}

-- Measure hypertension_bp_control: adults 18-85 with active hypertension and at least one
-- blood pressure reading in the twelve-month period (denominator), end-stage renal disease
-- excluded, whose latest reading of the period was below 140/90 (numerator). Its care gap:
-- a hypertensive whose last blood pressure is >= 140 systolic or >= 90 diastolic.
with population as (
    select r.tenant_id as tenant_id, r.patient_id as patient_id, p.age_years as age_years
    from {{ ref('ph_chronic_condition_registry') }} as r
    inner join {{ ref('int_patients') }} as p
        on p.patient_id = r.patient_id
    where r.condition = 'hypertension' and r.is_active and not p.is_deceased
),

last_readings as (
    select
        tenant_id,
        patient_id,
        max(measured_date) as last_reading_date,
        argMax(systolic_mm_hg, measured_at) as systolic_mm_hg,
        argMax(diastolic_mm_hg, measured_at) as diastolic_mm_hg
    from {{ ref('int_blood_pressure_readings') }}
    where measured_date >= {{ period_start_date() }}
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
        pop.age_years between 18 and 85 and b.last_reading_date is not null as is_in_denominator,
        x.patient_id is not null as is_excluded,
        b.last_reading_date as evidence_date,
        b.systolic_mm_hg as systolic_mm_hg,
        b.diastolic_mm_hg as diastolic_mm_hg
    from population as pop
    left join last_readings as b on b.patient_id = pop.patient_id
    left join esrd as x on x.patient_id = pop.patient_id
)

select
    tenant_id,
    patient_id,
    'hypertension_bp_control' as measure_id,
    {{ measure_version() }} as measure_version,
    {{ period_start_date() }} as period_start,
    {{ as_of_date() }} as period_end,
    toBool(is_in_denominator) as is_in_denominator,
    toBool(is_excluded) as is_excluded,
    if(is_excluded, 'end_stage_renal_disease', null) as exclusion_reason,
    toBool(is_in_denominator and not is_excluded and systolic_mm_hg < 140 and diastolic_mm_hg < 90)
        as is_in_numerator,
    evidence_date,
    if(evidence_date is null, null, 'http://loinc.org') as evidence_code_system,
    if(evidence_date is null, null, '8480-6') as evidence_code,
    toNullable(toDecimal64(systolic_mm_hg, 4)) as evidence_value,
    if(evidence_date is null, null, 'mm[Hg]') as evidence_unit,
    if(evidence_date is null, null,
        concat(toString(toInt32(round(systolic_mm_hg))), '/', toString(toInt32(round(diastolic_mm_hg)))))
        as evidence_text
from flags
