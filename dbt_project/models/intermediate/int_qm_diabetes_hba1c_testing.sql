{{ config(order_by='(tenant_id, patient_id)') }}

-- Measure diabetes_hba1c_testing: adults 18-75 with active type 2 diabetes (denominator) who
-- had an HbA1c result in the twelve-month period (numerator). No exclusions. Evidence: the
-- latest HbA1c of the period. Its care gap: a diabetic without an HbA1c in 12 months.
with population as (
    select r.tenant_id as tenant_id, r.patient_id as patient_id, p.age_years as age_years
    from {{ ref('ph_chronic_condition_registry') }} as r
    inner join {{ ref('int_patients') }} as p
        on p.patient_id = r.patient_id
    where r.condition = 'type_2_diabetes' and r.is_active and not p.is_deceased
),

tests as (
    select
        tenant_id,
        patient_id,
        max(effective_date) as last_test_date,
        argMax(code_system, (effective_at, lab_result_id)) as last_code_system,
        argMax(code, (effective_at, lab_result_id)) as last_code,
        argMax(value, (effective_at, lab_result_id)) as last_value,
        argMax(unit, (effective_at, lab_result_id)) as last_unit
    from {{ ref('int_lab_results_coded') }}
    where value_set = 'hba1c' and effective_date >= {{ period_start_date() }}
    group by tenant_id, patient_id
),

flags as (
    select
        pop.tenant_id as tenant_id,
        pop.patient_id as patient_id,
        pop.age_years between 18 and 75 as is_in_denominator,
        t.last_test_date as evidence_date,
        t.last_code_system as evidence_code_system,
        t.last_code as evidence_code,
        t.last_value as test_value,
        t.last_unit as evidence_unit
    from population as pop
    left join tests as t on t.patient_id = pop.patient_id
)

select
    tenant_id,
    patient_id,
    'diabetes_hba1c_testing' as measure_id,
    {{ measure_version() }} as measure_version,
    {{ period_start_date() }} as period_start,
    {{ as_of_date() }} as period_end,
    toBool(is_in_denominator) as is_in_denominator,
    toBool(false) as is_excluded,
    cast(null as Nullable(String)) as exclusion_reason,
    toBool(is_in_denominator and evidence_date is not null) as is_in_numerator,
    evidence_date,
    evidence_code_system,
    evidence_code,
    toNullable(toDecimal64(test_value, 4)) as evidence_value,
    evidence_unit,
    cast(null as Nullable(String)) as evidence_text
from flags
