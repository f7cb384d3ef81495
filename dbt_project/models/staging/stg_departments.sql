select
    id,
    tenant_id,
    name,
    created_at,
    _synced_at as synced_at
from {{ source('raw', 'departments') }} final
where _is_deleted = 0
