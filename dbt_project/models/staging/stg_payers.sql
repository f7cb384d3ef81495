select
    id,
    tenant_id,
    name,
    payer_type,
    external_id,
    created_at,
    _synced_at as synced_at
from {{ source('raw', 'payers') }} final
where _is_deleted = 0
