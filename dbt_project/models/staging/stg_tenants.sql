select
    id,
    slug,
    name,
    created_at,
    _synced_at as synced_at
from {{ source('raw', 'tenants') }} final
where _is_deleted = 0
