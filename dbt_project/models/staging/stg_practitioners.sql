select
    id,
    tenant_id,
    display_name,
    npi,
    specialty_codes,
    department_id,
    user_id,
    is_active,
    created_at,
    updated_at,
    _synced_at as synced_at
from {{ source('raw', 'practitioners') }} final
where _is_deleted = 0
