select
    id,
    tenant_id,
    payer_id,
    member_id,
    group_number,
    plan_name,
    subscriber_relationship,
    period_start,
    period_end,
    priority,
    status,
    patient_id,
    created_at,
    updated_at,
    _synced_at as synced_at
from {{ source('raw', 'coverages') }} final
where _is_deleted = 0
