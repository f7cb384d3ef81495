{{ config(order_by='(tenant_id, month_start)') }}

-- Utilization and cost per calendar month from EHR encounters and billing, over members
-- (patients with a primary coverage that month, int_member_months):
--   ED visits per 1,000     = ED visits of members / member months x 12,000 (annualized)
--   admissions per 1,000    = inpatient admissions of members / member months x 12,000
--   PMPM charges / paid     = gross charges / payments on members' services / member months
--   readmission rate        = index stays readmitted within 30 days / index stays (by
--                             discharge month, complete 30-day windows only)
with members as (
    select tenant_id, month_start, count() as member_months
    from {{ ref('int_member_months') }}
    group by tenant_id, month_start
),

-- Visits and services are summed per patient and month first, then kept where the patient
-- was a member that month (the member months probe the small per-patient sums).
encounter_months as (
    select
        patient_id,
        toStartOfMonth(encounter_date) as month_start,
        countIf(is_emergency) as ed_visits,
        countIf(is_inpatient) as inpatient_admissions
    from {{ ref('int_encounters') }}
    where is_emergency or is_inpatient
    group by patient_id, month_start
),

visits as (
    select
        m.tenant_id as tenant_id,
        m.month_start as month_start,
        sum(e.ed_visits) as ed_visits,
        sum(e.inpatient_admissions) as inpatient_admissions
    from {{ ref('int_member_months') }} as m
    inner join encounter_months as e
        on e.patient_id = m.patient_id and e.month_start = m.month_start
    group by tenant_id, month_start
),

service_months as (
    select
        patient_id,
        service_month as month_start,
        sum(charges_cents) as charges_cents,
        sum(payments_cents) as paid_cents
    from {{ ref('rev_invoices') }}
    group by patient_id, month_start
),

costs as (
    select
        m.tenant_id as tenant_id,
        m.month_start as month_start,
        sum(i.charges_cents) as charges_cents,
        sum(i.paid_cents) as paid_cents
    from {{ ref('int_member_months') }} as m
    inner join service_months as i
        on i.patient_id = m.patient_id and i.month_start = m.month_start
    group by tenant_id, month_start
),

readmissions as (
    select
        tenant_id,
        discharge_month as month_start,
        count() as index_stays,
        countIf(is_readmitted_30d) as readmissions
    from {{ ref('ph_readmissions') }}
    where has_complete_window
    group by tenant_id, month_start
),

cells as (
    select
        m.tenant_id as tenant_id,
        m.month_start as month_start,
        m.member_months as member_months,
        coalesce(v.ed_visits, 0) as ed_visits,
        coalesce(v.inpatient_admissions, 0) as inpatient_admissions,
        toInt64(coalesce(c.charges_cents, 0)) as charges_cents,
        toInt64(coalesce(c.paid_cents, 0)) as paid_cents,
        coalesce(r.index_stays, 0) as index_stays,
        coalesce(r.readmissions, 0) as readmissions
    from members as m
    left join visits as v on v.tenant_id = m.tenant_id and v.month_start = m.month_start
    left join costs as c on c.tenant_id = m.tenant_id and c.month_start = m.month_start
    left join readmissions as r on r.tenant_id = m.tenant_id and r.month_start = m.month_start
)

select
    cell.tenant_id as tenant_id,
    cell.month_start as month_start,
    toBool(cell.month_start < toStartOfMonth({{ as_of_date() }})) as is_complete_month,
    {{ suppressed_integer('member_months', 'member_months') }} as member_months,
    {{ utilization_measures('member_months') }},
    {{ as_of_date() }} as as_of_date
from cells as cell
