{{ config(order_by='(tenant_id, payer_name, denial_group_code, denial_reason_code)') }}

-- Denials per payer and CARC reason over claims for services in the twelve-month period:
--   reason denial rate = claims denied for the reason / claims submitted to the payer
--   share of denials   = claims denied for the reason / claims the payer denied
with submitted as (
    select
        tenant_id,
        payer_id,
        countIf(is_submitted) as submitted_claims,
        countIf(is_denied) as denied_claims
    from {{ ref('rev_claims') }}
    where service_date >= {{ period_start_date() }}
    group by tenant_id, payer_id
),

reasons as (
    select
        tenant_id,
        payer_id,
        payer_name,
        payer_type,
        denial_group_code,
        denial_reason_code,
        count() as reason_denied_claims
    from {{ ref('rev_claims') }}
    where service_date >= {{ period_start_date() }} and is_denied
    group by tenant_id, payer_id, payer_name, payer_type, denial_group_code, denial_reason_code
),

cells as (
    select
        r.tenant_id as tenant_id,
        r.payer_id as payer_id,
        r.payer_name as payer_name,
        r.payer_type as payer_type,
        coalesce(r.denial_group_code, '') as denial_group_code,
        coalesce(r.denial_reason_code, '') as denial_reason_code,
        r.reason_denied_claims as reason_denied_claims,
        s.submitted_claims as submitted_claims,
        s.denied_claims as denied_claims
    from reasons as r
    inner join submitted as s on s.payer_id = r.payer_id
)

{% set counts = ['reason_denied_claims', 'submitted_claims', 'denied_claims'] %}
select
    cell.tenant_id as tenant_id,
    cell.payer_id as payer_id,
    cell.payer_name as payer_name,
    cell.payer_type as payer_type,
    cell.denial_group_code as denial_group_code,
    cell.denial_reason_code as denial_reason_code,
    {{ period_start_date() }} as period_start,
    {{ as_of_date() }} as period_end,
    {{ suppressed_integer('reason_denied_claims', 'reason_denied_claims') }} as denied_claims,
    {{ suppressed_integer('submitted_claims', 'submitted_claims') }} as payer_submitted_claims,
    {{ suppress('cell.reason_denied_claims / cell.submitted_claims', counts) }} as denial_rate,
    {{ suppress('cell.reason_denied_claims / cell.denied_claims', counts) }} as share_of_denials,
    {{ is_suppressed(counts) }} as is_suppressed
from cells as cell
