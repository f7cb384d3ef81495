{{ config(order_by='(tenant_id, patient_id, index_encounter_id)') }}

-- One row per inpatient discharge (index stay) on or before the as-of date, from EHR
-- encounters: was the patient admitted again 1 to 30 days after the discharge date? Every
-- stay is an index stay, a readmission included. Stays ending in death are not index stays.
-- `has_complete_window` is false while the 30 days after discharge reach past the as-of date.
with stays as (
    select
        tenant_id,
        patient_id,
        encounter_id,
        admission_date,
        discharge_date,
        discharge_disposition
    from {{ ref('int_encounters') }}
    where is_inpatient and admission_date is not null
),

index_stays as (
    select *
    from stays
    where discharge_date is not null
        and discharge_date <= {{ as_of_date() }}
        and coalesce(discharge_disposition, '') != 'expired'
),

next_admissions as (
    select
        i.tenant_id as tenant_id,
        i.encounter_id as index_encounter_id,
        argMin(s.encounter_id, (s.admission_date, s.encounter_id)) as readmission_encounter_id,
        min(s.admission_date) as readmission_date
    from index_stays as i
    inner join stays as s
        on s.patient_id = i.patient_id
    where s.encounter_id != i.encounter_id
        and dateDiff('day', i.discharge_date, s.admission_date) between 1 and 30
    group by i.tenant_id, i.encounter_id
)

select
    i.tenant_id as tenant_id,
    i.encounter_id as index_encounter_id,
    i.patient_id as patient_id,
    i.admission_date as admission_date,
    assumeNotNull(i.discharge_date) as discharge_date,
    toStartOfMonth(assumeNotNull(i.discharge_date)) as discharge_month,
    i.discharge_disposition as discharge_disposition,
    toInt32(dateDiff('day', i.admission_date, i.discharge_date)) as length_of_stay_days,
    toBool(addDays(assumeNotNull(i.discharge_date), 30) <= {{ as_of_date() }}) as has_complete_window,
    toBool(n.readmission_encounter_id is not null) as is_readmitted_30d,
    n.readmission_encounter_id as readmission_encounter_id,
    n.readmission_date as readmission_date
from index_stays as i
left join next_admissions as n
    on n.index_encounter_id = i.encounter_id
