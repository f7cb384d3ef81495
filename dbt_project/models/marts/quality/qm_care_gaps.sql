{{ config(order_by='(tenant_id, measure_id, patient_id)') }}

-- The care-gap worklist: patients in a measure's denominator, not excluded, not meeting the
-- numerator, with their MRN (to find them in the EHR) and the last evidence on record.
select
    r.tenant_id as tenant_id,
    r.patient_id as patient_id,
    p.mrn as mrn,
    r.measure_id as measure_id,
    r.measure_version as measure_version,
    r.period_start as period_start,
    r.period_end as period_end,
    multiIf(
        r.measure_id = 'diabetes_hba1c_testing', 'No HbA1c result in the last 12 months',
        r.measure_id = 'hypertension_bp_control', 'Last blood pressure 140/90 or higher',
        r.measure_id = 'statin_therapy', 'Statin-eligible without a statin prescription',
        'Measure not met'
    ) as gap_description,
    r.evidence_date as evidence_date,
    r.evidence_code_system as evidence_code_system,
    r.evidence_code as evidence_code,
    r.evidence_value as evidence_value,
    r.evidence_unit as evidence_unit,
    r.evidence_text as evidence_text
from {{ ref('qm_measure_results') }} as r
inner join {{ ref('int_patients') }} as p
    on p.patient_id = r.patient_id
where r.has_care_gap
