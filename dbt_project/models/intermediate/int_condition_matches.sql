{{ config(order_by='(tenant_id, patient_id, value_set)') }}

-- Every confirmed diagnosis or problem-list entry whose (system, code) is in a value set, with
-- the date it counts from: its onset, else its encounter's date, else when it was recorded.
-- A condition is active on the as-of date when it started by then and had not abated: resolved
-- entries count only until their abatement date.
with conditions as (
    select
        c.tenant_id as tenant_id,
        c.patient_id as patient_id,
        c.id as condition_id,
        c.category as category,
        c.code_system as code_system,
        c.code as code,
        c.clinical_status as clinical_status,
        c.abatement_date as abatement_date,
        coalesce(c.onset_date, toDate32(e.start_at), toDate32(c.created_at)) as recorded_date
    from {{ ref('stg_conditions') }} as c
    left join (
        -- only the encounters whose date a condition without onset falls back to
        select id, start_at
        from {{ ref('stg_encounters') }}
        where id in (select encounter_id from {{ ref('stg_conditions') }} where onset_date is null)
    ) as e
        on e.id = c.encounter_id
    where c.verification_status = 'confirmed'
        -- a set filter first: only coded rows of a value set meet the encounter join
        and (c.code_system, c.code) in (select code_system, code from {{ ref('value_sets') }})
)

select
    c.tenant_id as tenant_id,
    c.patient_id as patient_id,
    c.condition_id as condition_id,
    v.value_set as value_set,
    v.version as value_set_version,
    c.category as category,
    c.code_system as code_system,
    c.code as code,
    c.recorded_date as recorded_date,
    c.abatement_date as abatement_date,
    toBool(
        (c.abatement_date is null or c.abatement_date > {{ as_of_date() }})
        and (c.clinical_status in ('active', 'recurrence', 'relapse') or c.abatement_date is not null)
    ) as is_active
from conditions as c
inner join {{ ref('value_sets') }} as v
    on v.code_system = c.code_system and v.code = c.code
inner join {{ ref('int_patients') }} as p
    on p.patient_id = c.patient_id
where c.recorded_date <= {{ as_of_date() }}
