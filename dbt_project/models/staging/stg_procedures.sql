select
    id,
    tenant_id,
    encounter_id,
    code_system,
    code,
    display,
    modifiers,
    units,
    performed_at,
    performer_id,
    status,
    recorded_by,
    patient_id,
    created_at,
    updated_at,
    _synced_at as synced_at
from {{ source('raw', 'procedures') }} final
where _is_deleted = 0
