select
    id,
    tenant_id,
    invoice_id,
    source,
    payer_id,
    claim_id,
    remittance_id,
    amount_cents,
    method,
    reference,
    posted_on,
    posted_at,
    posted_by,
    patient_id,
    created_at,
    updated_at,
    _synced_at as synced_at
from {{ source('raw', 'payments') }} final
where _is_deleted = 0
