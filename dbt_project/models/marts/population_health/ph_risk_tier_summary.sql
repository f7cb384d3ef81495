{{ config(order_by='(tenant_id, tier_order)') }}

-- How many living patients fall in each risk tier on the as-of date, and their share.
with tiers as (
    select tenant_id, risk_tier, count() as patient_count
    from {{ ref('ph_patient_risk_tiers') }}
    group by tenant_id, risk_tier
),

cells as (
    select
        t.tenant_id as tenant_id,
        t.risk_tier as risk_tier,
        t.patient_count as patient_count,
        t.patient_count / sum(t.patient_count) over (partition by t.tenant_id) as patient_share
    from tiers as t
)

select
    cell.tenant_id as tenant_id,
    cell.risk_tier as risk_tier,
    toUInt8(transform(cell.risk_tier, ['high', 'rising', 'low'], [1, 2, 3], 0)) as tier_order,
    {{ suppressed_integer('patient_count', 'patient_count') }} as patient_count,
    {{ suppress('patient_share', 'patient_count') }} as patient_share,
    {{ is_suppressed('patient_count') }} as is_suppressed,
    {{ as_of_date() }} as as_of_date
from cells as cell
