select
    id,
    tenant_id,
    encounter_id,
    category,
    code_system,
    code,
    display,
    value,
    unit,
    effective_at,
    status,
    is_derived,
    recorded_by,
    patient_id,
    created_at,
    updated_at,
    _synced_at as synced_at
from {{ source('raw', 'observations') }} final
where _is_deleted = 0
