{{ config(order_by='(tenant_id)') }}

-- The same utilization KPIs as ph_utilization_monthly over the twelve-month period ending on
-- the as-of date (months whose first day falls in it), and the 30-day readmission rate over
-- index stays discharged in the twelve months ending 30 days before the as-of date (so every
-- window is complete).
with months as (
    select *
    from {{ ref('int_member_months') }}
    where month_start >= toStartOfMonth({{ period_start_date() }})
        and month_start <= toStartOfMonth({{ as_of_date() }})
),

members as (
    select tenant_id, count() as member_months, uniqExact(patient_id) as members
    from months
    group by tenant_id
),

-- Visits and services summed per patient and month first (see ph_utilization_monthly).
encounter_months as (
    select
        patient_id,
        toStartOfMonth(encounter_date) as month_start,
        countIf(is_emergency) as ed_visits,
        countIf(is_inpatient) as inpatient_admissions
    from {{ ref('int_encounters') }}
    where (is_emergency or is_inpatient)
        and encounter_date >= toStartOfMonth({{ period_start_date() }})
    group by patient_id, month_start
),

visits as (
    select
        m.tenant_id as tenant_id,
        sum(e.ed_visits) as ed_visits,
        sum(e.inpatient_admissions) as inpatient_admissions
    from months as m
    inner join encounter_months as e
        on e.patient_id = m.patient_id and e.month_start = m.month_start
    group by tenant_id
),

service_months as (
    select
        patient_id,
        service_month as month_start,
        sum(charges_cents) as charges_cents,
        sum(payments_cents) as paid_cents
    from {{ ref('rev_invoices') }}
    where service_month >= toStartOfMonth({{ period_start_date() }})
    group by patient_id, month_start
),

costs as (
    select
        m.tenant_id as tenant_id,
        sum(i.charges_cents) as charges_cents,
        sum(i.paid_cents) as paid_cents
    from months as m
    inner join service_months as i
        on i.patient_id = m.patient_id and i.month_start = m.month_start
    group by tenant_id
),

readmissions as (
    select
        tenant_id,
        count() as index_stays,
        countIf(is_readmitted_30d) as readmissions
    from {{ ref('ph_readmissions') }}
    where discharge_date > addYears(addDays({{ as_of_date() }}, -30), -1)
        and discharge_date <= addDays({{ as_of_date() }}, -30)
    group by tenant_id
),

cells as (
    select
        m.tenant_id as tenant_id,
        m.member_months as member_months,
        m.members as members,
        coalesce(v.ed_visits, 0) as ed_visits,
        coalesce(v.inpatient_admissions, 0) as inpatient_admissions,
        toInt64(coalesce(c.charges_cents, 0)) as charges_cents,
        toInt64(coalesce(c.paid_cents, 0)) as paid_cents,
        coalesce(r.index_stays, 0) as index_stays,
        coalesce(r.readmissions, 0) as readmissions
    from members as m
    left join visits as v on v.tenant_id = m.tenant_id
    left join costs as c on c.tenant_id = m.tenant_id
    left join readmissions as r on r.tenant_id = m.tenant_id
)

select
    cell.tenant_id as tenant_id,
    {{ period_start_date() }} as period_start,
    {{ as_of_date() }} as period_end,
    {{ suppressed_integer('members', 'members') }} as members,
    {{ suppressed_integer('member_months', 'members') }} as member_months,
    {{ utilization_measures('members') }}
from cells as cell
