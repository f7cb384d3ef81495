{{ config(order_by='(tenant_id, payer_name)') }}

-- Denial rate per payer over claims for services in the twelve-month period:
--   denial rate = claims the payer denied / claims submitted to it
-- Replacement claims count as claims of their own. Draft claims were never submitted.
with claims as (
    select
        tenant_id,
        payer_id,
        payer_name,
        payer_type,
        countIf(is_submitted) as submitted_claims,
        countIf(is_denied) as denied_claims,
        uniqExactIf(patient_id, is_submitted) as patient_count
    from {{ ref('rev_claims') }}
    where service_date >= {{ period_start_date() }}
    group by tenant_id, payer_id, payer_name, payer_type
)

{% set counts = ['submitted_claims', 'patient_count'] %}
select
    cell.tenant_id as tenant_id,
    cell.payer_id as payer_id,
    cell.payer_name as payer_name,
    cell.payer_type as payer_type,
    {{ period_start_date() }} as period_start,
    {{ as_of_date() }} as period_end,
    {{ suppressed_integer('submitted_claims', counts) }} as submitted_claims,
    {{ suppressed_integer('patient_count', counts) }} as patient_count,
    {{ suppressed_integer('denied_claims', 'denied_claims') }} as denied_claims,
    {{ suppress('if(cell.submitted_claims > 0, cell.denied_claims / cell.submitted_claims, null)', counts + ['denied_claims']) }} as denial_rate,
    {{ is_suppressed(counts + ['denied_claims']) }} as is_suppressed
from claims as cell
