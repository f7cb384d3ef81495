select
    id,
    tenant_id,
    encounter_id,
    vaccine_system,
    vaccine_code,
    vaccine_display,
    occurred_at,
    status,
    recorded_by,
    patient_id,
    created_at,
    updated_at,
    _synced_at as synced_at
from {{ source('raw', 'immunizations') }} final
where _is_deleted = 0
