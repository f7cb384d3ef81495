select
    id,
    tenant_id,
    name,
    time_zone,
    is_active,
    created_at,
    updated_at,
    _synced_at as synced_at
from {{ source('raw', 'locations') }} final
where _is_deleted = 0
