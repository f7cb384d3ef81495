{{ config(order_by='(tenant_id, patient_id, index_encounter_id)') }}

-- Thirty-day readmission: one row per index stay of ph_readmissions (every inpatient discharge
-- on or before the as-of date but stays ending in death), with the model's inputs as of the
-- admission date and the outcome. The inputs follow the feature specification in
-- ml/features/spec.py (model `readmission_30d`); the same definitions read a patient's
-- PostgreSQL record for on-demand scoring (ml/features/record.py), and a test holds the two
-- paths equal. Stays whose 30 days are not over yet are the units scored today.
with stays as (
    select
        r.tenant_id as tenant_id,
        r.index_encounter_id as index_encounter_id,
        r.patient_id as patient_id,
        r.admission_date as admission_date,
        r.discharge_date as discharge_date,
        r.length_of_stay_days as length_of_stay_days,
        r.discharge_disposition as discharge_disposition,
        r.has_complete_window as has_complete_window,
        r.is_readmitted_30d as is_readmitted_30d,
        p.birth_date as birth_date,
        p.sex as sex,
        p.race as race
    from {{ ref('ph_readmissions') }} as r
    inner join {{ ref('int_patients') }} as p
        on p.tenant_id = r.tenant_id and p.patient_id = r.patient_id
),

problems as (
    select
        tenant_id,
        patient_id,
        minIf(onset_date, startsWith(code, 'I50')) as heart_failure_onset,
        minIf(onset_date, startsWith(code, 'J44')) as copd_onset,
        minIf(onset_date, startsWith(code, 'N18')) as ckd_onset,
        minIf(onset_date, startsWith(code, 'E11')) as t2d_onset,
        minIf(onset_date, startsWith(code, 'F32')) as depression_onset,
        countIf(startsWith(code, 'I50')) > 0 as has_heart_failure_entry,
        countIf(startsWith(code, 'J44')) > 0 as has_copd_entry,
        countIf(startsWith(code, 'N18')) > 0 as has_ckd_entry,
        countIf(startsWith(code, 'E11')) > 0 as has_t2d_entry,
        countIf(startsWith(code, 'F32')) > 0 as has_depression_entry
    from (
        select
            tenant_id,
            patient_id,
            code,
            coalesce(onset_date, toDate32(created_at)) as onset_date
        from {{ ref('stg_conditions') }}
        where category = 'problem_list_item'
            and code_system = 'http://hl7.org/fhir/sid/icd-10-cm'
            and verification_status = 'confirmed'
    )
    group by tenant_id, patient_id
),

prior_stays as (
    -- Inpatient discharges in the 365 days before the admission date.
    select
        s.tenant_id as tenant_id,
        s.index_encounter_id as index_encounter_id,
        countIf(
            e.discharge_date >= addDays(s.admission_date, -365)
            and e.discharge_date < s.admission_date
        ) as prior_admissions_365d
    from stays as s
    inner join {{ ref('int_encounters') }} as e
        on e.tenant_id = s.tenant_id and e.patient_id = s.patient_id
    where e.is_inpatient and e.encounter_id != s.index_encounter_id
    group by s.tenant_id, s.index_encounter_id
),

emergency_visits as (
    -- Emergency visits in the 180 days before the admission date.
    select
        s.tenant_id as tenant_id,
        s.index_encounter_id as index_encounter_id,
        countIf(
            e.encounter_date >= addDays(s.admission_date, -180)
            and e.encounter_date < s.admission_date
        ) as ed_visits_180d
    from stays as s
    inner join {{ ref('int_encounters') }} as e
        on e.tenant_id = s.tenant_id and e.patient_id = s.patient_id
    where e.is_emergency
    group by s.tenant_id, s.index_encounter_id
),

medicaid as (
    -- Medicaid is the primary coverage (priority 1) on the admission date.
    select
        s.tenant_id as tenant_id,
        s.index_encounter_id as index_encounter_id,
        max(
            py.payer_type = 'medicaid'
            and c.period_start <= s.admission_date
            and (c.period_end is null or c.period_end >= s.admission_date)
        ) as is_medicaid
    from stays as s
    inner join {{ ref('stg_coverages') }} as c
        on c.tenant_id = s.tenant_id and c.patient_id = s.patient_id
    inner join {{ ref('stg_payers') }} as py
        on py.tenant_id = c.tenant_id and py.id = c.payer_id
    where c.priority = 1 and c.status = 'active'
    group by s.tenant_id, s.index_encounter_id
)

select
    s.tenant_id as tenant_id,
    s.index_encounter_id as index_encounter_id,
    s.patient_id as patient_id,
    s.admission_date as admission_date,
    s.discharge_date as discharge_date,
    s.discharge_date as index_date,
    addDays(s.discharge_date, 30) as window_end_date,
    toBool(s.has_complete_window) as has_complete_window,
    toBool(not s.has_complete_window) as is_scoring_unit,
    dateDiff('day', s.birth_date, s.admission_date) / 365.25 as age_years,
    s.sex as sex,
    s.race as race,
    toBool(coalesce(c.has_heart_failure_entry and c.heart_failure_onset < s.admission_date, false))
        as has_heart_failure,
    toBool(coalesce(c.has_copd_entry and c.copd_onset < s.admission_date, false)) as has_copd,
    toBool(coalesce(c.has_ckd_entry and c.ckd_onset < s.admission_date, false)) as has_ckd,
    toBool(coalesce(c.has_t2d_entry and c.t2d_onset < s.admission_date, false)) as has_t2d,
    toBool(coalesce(c.has_depression_entry and c.depression_onset < s.admission_date, false))
        as has_depression,
    coalesce(ps.prior_admissions_365d, 0) as prior_admissions_365d,
    coalesce(ev.ed_visits_180d, 0) as ed_visits_180d,
    s.length_of_stay_days as length_of_stay_days,
    toBool(coalesce(m.is_medicaid, false)) as is_medicaid,
    s.discharge_disposition as discharge_disposition,
    toBool(s.is_readmitted_30d) as is_readmitted_30d
from stays as s
left join problems as c on c.tenant_id = s.tenant_id and c.patient_id = s.patient_id
left join prior_stays as ps
    on ps.tenant_id = s.tenant_id and ps.index_encounter_id = s.index_encounter_id
left join emergency_visits as ev
    on ev.tenant_id = s.tenant_id and ev.index_encounter_id = s.index_encounter_id
left join medicaid as m on m.tenant_id = s.tenant_id and m.index_encounter_id = s.index_encounter_id
