select
    id,
    tenant_id,
    encounter_class,
    type_system,
    type_code,
    type_display,
    reason,
    practitioner_id,
    location_id,
    appointment_id,
    status,
    start_at,
    end_at,
    admitted_at,
    admit_source,
    discharged_at,
    discharge_disposition,
    patient_id,
    created_at,
    updated_at,
    _synced_at as synced_at
from {{ source('raw', 'encounters') }} final
where _is_deleted = 0
