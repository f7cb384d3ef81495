{{ config(order_by='(tenant_id, patient_id, encounter_id)') }}

-- Encounters that took place (status finished) and started on or before the as-of date, with
-- the calendar dates (UTC) the KPIs count on.
select
    e.tenant_id as tenant_id,
    e.id as encounter_id,
    e.patient_id as patient_id,
    e.encounter_class as encounter_class,
    toBool(e.encounter_class = 'emergency') as is_emergency,
    toBool(e.encounter_class = 'inpatient') as is_inpatient,
    e.practitioner_id as practitioner_id,
    e.location_id as location_id,
    e.start_at as start_at,
    toDate32(e.start_at) as encounter_date,
    toDate32(e.admitted_at) as admission_date,
    toDate32(e.discharged_at) as discharge_date,
    e.discharge_disposition as discharge_disposition
from {{ ref('stg_encounters') }} as e
inner join {{ ref('int_patients') }} as p
    on p.patient_id = e.patient_id
where e.status = 'finished'
    and toDate32(e.start_at) <= {{ as_of_date() }}
