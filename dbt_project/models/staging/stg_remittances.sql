select
    id,
    tenant_id,
    payer_id,
    reference,
    method,
    received_on,
    paid_cents,
    claim_count,
    posted_at,
    posted_by,
    _synced_at as synced_at
from {{ source('raw', 'remittances') }} final
where _is_deleted = 0
