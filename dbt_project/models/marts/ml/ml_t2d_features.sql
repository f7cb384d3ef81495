{{ config(order_by='(tenant_id, patient_id, index_date)') }}

-- Incident type 2 diabetes within a year: one row per adult at risk on an index date, with
-- the model's inputs as recorded strictly before that date and the outcome of the year after.
-- Index dates are 1 January of every year after the tenant's first recorded year (training
-- units) and the as-of date itself (the unit scored today). The inputs follow the feature
-- specification in ml/features/spec.py (model `incident_t2d_1y`); the same definitions read a
-- patient's PostgreSQL record for on-demand scoring (ml/features/record.py), and a test holds
-- the two paths equal.
with problems as (
    -- First onset of each condition the model reads, from confirmed problem-list entries
    -- (an entry without onset counts from when it was recorded).
    select
        tenant_id,
        patient_id,
        minIf(onset_date, startsWith(code, 'E11')) as t2d_onset,
        minIf(onset_date, code = 'I10') as hypertension_onset,
        minIf(onset_date, startsWith(code, 'E78')) as hyperlipidemia_onset,
        countIf(startsWith(code, 'E11')) > 0 as has_t2d_entry,
        countIf(code = 'I10') > 0 as has_hypertension_entry,
        countIf(startsWith(code, 'E78')) > 0 as has_hyperlipidemia_entry
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

first_years as (
    select tenant_id, toYear(min(start_at)) as first_year
    from {{ ref('stg_encounters') }}
    group by tenant_id
),

index_dates as (
    select
        p.tenant_id as tenant_id,
        arrayJoin(
            arrayDistinct(arrayConcat(
                arrayMap(
                    y -> makeDate32(y, 1, 1),
                    range(
                        -- a tenant with patients but no encounters yet has no first year (NULL)
                        toUInt16(ifNull(nullIf(f.first_year, 0), toYear({{ as_of_date() }})) + 1),
                        toUInt16(toYear({{ as_of_date() }}) + 1)
                    )
                ),
                [toDate32({{ as_of_date() }})]
            ))
        ) as index_date
    from (select distinct tenant_id from {{ ref('int_patients') }}) as p
    left join first_years as f on f.tenant_id = p.tenant_id
),

units as (
    select
        p.tenant_id as tenant_id,
        p.patient_id as patient_id,
        d.index_date as index_date,
        toDateTime64(d.index_date, 6, 'UTC') as index_at,
        dateDiff('day', p.birth_date, d.index_date) / 365.25 as age_years,
        p.sex as sex,
        p.race as race,
        p.ethnicity as ethnicity,
        coalesce(c.has_hypertension_entry and c.hypertension_onset < d.index_date, false)
            as has_hypertension,
        coalesce(c.has_hyperlipidemia_entry and c.hyperlipidemia_onset < d.index_date, false)
            as has_hyperlipidemia,
        coalesce(
            c.has_t2d_entry
            and c.t2d_onset >= d.index_date
            and c.t2d_onset < addYears(d.index_date, 1),
            false
        ) as has_incident_t2d
    from {{ ref('int_patients') }} as p
    inner join index_dates as d on d.tenant_id = p.tenant_id
    left join problems as c on c.tenant_id = p.tenant_id and c.patient_id = p.patient_id
    where p.birth_date < d.index_date
        and dateDiff('day', p.birth_date, d.index_date) / 365.25 >= 18
        and (p.deceased_date is null or p.deceased_date >= d.index_date)
        and not coalesce(c.has_t2d_entry and c.t2d_onset < d.index_date, false)
),

bmi as (
    select tenant_id, patient_id, effective_at, toFloat64(value) as value, 1 as found
    from {{ ref('stg_observations') }}
    where code_system = 'http://loinc.org' and code = '39156-5' and status = 'final'
),

hba1c as (
    select tenant_id, patient_id, effective_at, toFloat64(value) as value, 1 as found
    from {{ ref('stg_lab_results') }}
    where code_system = 'http://loinc.org'
        and code = '4548-4'
        and status in ('preliminary', 'final')
        and value is not null
),

with_bmi as (
    select
        u.*,
        if(b.found = 1, b.value, null) as bmi
    from units as u
    asof left join bmi as b
        on b.tenant_id = u.tenant_id
        and b.patient_id = u.patient_id
        and u.index_at > b.effective_at
),

with_hba1c as (
    select
        u.*,
        -- The last HbA1c before the index date, if it is at most 1,095 days (3 x 365) old.
        if(
            a.found = 1 and a.effective_at >= u.index_at - toIntervalDay(1095), a.value, null
        ) as hba1c
    from with_bmi as u
    asof left join hba1c as a
        on a.tenant_id = u.tenant_id
        and a.patient_id = u.patient_id
        and u.index_at > a.effective_at
)

select
    tenant_id,
    patient_id,
    index_date,
    addYears(index_date, 1) as window_end_date,
    toBool(addYears(index_date, 1) <= {{ as_of_date() }}) as has_complete_window,
    toBool(index_date = {{ as_of_date() }}) as is_scoring_unit,
    age_years,
    sex,
    race,
    ethnicity,
    bmi,
    hba1c,
    toBool(has_hypertension) as has_hypertension,
    toBool(has_hyperlipidemia) as has_hyperlipidemia,
    toBool(has_incident_t2d) as has_incident_t2d
from with_hba1c
