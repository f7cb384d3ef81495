{{ config(order_by='(tenant_id, patient_id, month_start)') }}

-- One row per patient and calendar month with an active primary coverage (priority 1) on at
-- least one day of the month, up to the as-of month and the month of death. Self-pay is a
-- coverage here, so every registered patient with a coverage record is a member. When two
-- primary coverages touch one month (a payer switch), the one that started later wins.
with coverages as (
    select
        c.tenant_id as tenant_id,
        c.patient_id as patient_id,
        c.id as coverage_id,
        c.payer_id as payer_id,
        c.period_start as period_start,
        toStartOfMonth(c.period_start) as first_month,
        toStartOfMonth(least(
            coalesce(c.period_end, {{ as_of_date() }}),
            {{ as_of_date() }},
            coalesce(p.deceased_date, {{ as_of_date() }})
        )) as last_month
    from {{ ref('stg_coverages') }} as c
    inner join {{ ref('int_patients') }} as p
        on p.patient_id = c.patient_id
    where c.status = 'active' and c.priority = 1
        and c.period_start <= least(
            coalesce(c.period_end, {{ as_of_date() }}),
            {{ as_of_date() }},
            coalesce(p.deceased_date, {{ as_of_date() }})
        )
),

-- Coverages sharing a month with another primary coverage of the patient. Only their months
-- need a choice; every other coverage's months are its own (this keeps the expensive
-- per-month grouping to the few payer switches).
contested as (
    select distinct a.coverage_id as coverage_id
    from coverages as a
    inner join coverages as b
        on b.patient_id = a.patient_id
    where b.coverage_id != a.coverage_id
        and b.first_month <= a.last_month
        and b.last_month >= a.first_month
),

months as (
    select
        tenant_id,
        patient_id,
        coverage_id as candidate_coverage_id,
        payer_id as candidate_payer_id,
        period_start,
        coverage_id in (select coverage_id from contested) as is_contested,
        arrayJoin(
            arrayMap(
                i -> addMonths(first_month, i),
                range(toUInt32(dateDiff('month', first_month, last_month) + 1))
            )
        ) as month_start
    from coverages
),

chosen as (
    select
        tenant_id,
        patient_id,
        month_start,
        candidate_coverage_id as coverage_id,
        candidate_payer_id as payer_id
    from months
    where not is_contested

    union all

    select
        tenant_id,
        patient_id,
        month_start,
        argMax(candidate_coverage_id, (period_start, candidate_coverage_id)) as coverage_id,
        argMax(candidate_payer_id, (period_start, candidate_coverage_id)) as payer_id
    from months
    where is_contested
    group by tenant_id, patient_id, month_start
)

select
    m.tenant_id as tenant_id,
    m.patient_id as patient_id,
    toDate(m.month_start) as month_start,
    m.coverage_id as coverage_id,
    m.payer_id as payer_id,
    y.name as payer_name,
    y.payer_type as payer_type
from chosen as m
inner join {{ ref('stg_payers') }} as y
    on y.id = m.payer_id
