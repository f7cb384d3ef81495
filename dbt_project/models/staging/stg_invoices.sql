select
    id,
    tenant_id,
    encounter_id,
    coverage_id,
    service_date,
    charges_cents,
    payments_cents,
    patient_payments_cents,
    adjustments_cents,
    patient_responsibility_cents,
    balance_cents,
    status,
    void_reason,
    voided_at,
    voided_by,
    patient_id,
    created_at,
    updated_at,
    _synced_at as synced_at
from {{ source('raw', 'invoices') }} final
where _is_deleted = 0
