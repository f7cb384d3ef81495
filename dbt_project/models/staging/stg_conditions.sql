select
    id,
    tenant_id,
    encounter_id,
    category,
    code_system,
    code,
    display,
    clinical_status,
    verification_status,
    onset_date,
    abatement_date,
    rank,
    recorded_by,
    patient_id,
    created_at,
    updated_at,
    _synced_at as synced_at
from {{ source('raw', 'conditions') }} final
where _is_deleted = 0
