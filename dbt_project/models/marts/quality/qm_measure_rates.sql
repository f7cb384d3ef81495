{{ config(order_by='(tenant_id, measure_id, period_end)') }}

-- Rates of each quality measure per tenant and period, counted from qm_measure_results:
--   performance rate = numerator / (denominator - exclusions)
--   care-gap rate    = care gaps / (denominator - exclusions)     (= 1 - performance rate)
with counts as (
    select
        tenant_id,
        measure_id,
        measure_version,
        period_start,
        period_end,
        count() as initial_population,
        countIf(is_in_denominator) as denominator,
        countIf(is_in_denominator and is_excluded) as exclusions,
        countIf(is_in_numerator) as numerator,
        countIf(has_care_gap) as care_gaps
    from {{ ref('qm_measure_results') }}
    group by tenant_id, measure_id, measure_version, period_start, period_end
),

cells as (
    select
        *,
        denominator - exclusions as eligible
    from counts
)

{% set rate_counts = ['eligible', 'numerator', 'care_gaps'] %}
select
    cell.tenant_id as tenant_id,
    cell.measure_id as measure_id,
    cell.measure_version as measure_version,
    cell.period_start as period_start,
    cell.period_end as period_end,
    {{ suppressed_integer('initial_population', 'initial_population') }} as initial_population,
    {{ suppressed_integer('denominator', 'denominator') }} as denominator,
    {{ suppressed_integer('exclusions', 'exclusions') }} as exclusions,
    {{ suppressed_integer('numerator', 'numerator') }} as numerator,
    {{ suppressed_integer('care_gaps', 'care_gaps') }} as care_gaps,
    {{ suppress('if(cell.eligible > 0, cell.numerator / cell.eligible, null)', rate_counts) }} as performance_rate,
    {{ suppress('if(cell.eligible > 0, cell.care_gaps / cell.eligible, null)', rate_counts) }} as care_gap_rate,
    {{ is_suppressed(['initial_population', 'denominator', 'exclusions'] + rate_counts) }} as is_suppressed
from cells as cell
