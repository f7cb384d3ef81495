{{ config(order_by='(tenant_id, measure_id, patient_id)') }}

-- Quality measures as one long table: one row per patient in a measure's initial population,
-- measure and period, with denominator, exclusion and numerator flags and the evidence that
-- decided the numerator. Care-gap lists (qm_care_gaps) and rates (qm_measure_rates) derive
-- from here only. Definitions: int_qm_* models and dbt_project/README.md.
with results as (
    select * from {{ ref('int_qm_diabetes_hba1c_testing') }}
    union all
    select * from {{ ref('int_qm_hypertension_bp_control') }}
    union all
    select * from {{ ref('int_qm_statin_therapy') }}
)

select
    tenant_id,
    patient_id,
    measure_id,
    measure_version,
    period_start,
    period_end,
    is_in_denominator,
    is_excluded,
    exclusion_reason,
    is_in_numerator,
    toBool(is_in_denominator and not is_excluded and not is_in_numerator) as has_care_gap,
    evidence_date,
    evidence_code_system,
    evidence_code,
    evidence_value,
    evidence_unit,
    evidence_text
from results
