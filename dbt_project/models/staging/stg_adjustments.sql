select
    id,
    tenant_id,
    invoice_id,
    claim_id,
    remittance_id,
    kind,
    group_code,
    reason_code,
    amount_cents,
    posted_on,
    posted_at,
    posted_by,
    patient_id,
    created_at,
    updated_at,
    _synced_at as synced_at
from {{ source('raw', 'adjustments') }} final
where _is_deleted = 0
