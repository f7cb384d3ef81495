select
    id,
    tenant_id,
    patient_id,
    practitioner_id,
    location_id,
    starts_at,
    ends_at,
    status,
    appointment_type,
    checked_in_at,
    started_at,
    created_at,
    _synced_at as synced_at
from {{ source('raw', 'appointments') }} final
where _is_deleted = 0
