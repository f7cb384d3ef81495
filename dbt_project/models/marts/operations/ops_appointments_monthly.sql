{{ config(order_by='(tenant_id, month_start, practitioner_id)') }}

-- Appointments per practitioner and calendar month (by booked start):
--   no-show rate        = no-shows / (completed + no-shows): of visits that were due and not
--                         cancelled, the share the patient missed
--   wait                = check-in to start of the visit, minutes, over visits with both times
--   lead time           = booking to booked start, days
--   booked minutes      = booked duration of appointments not cancelled nor missed
--   available minutes   = the practitioner's working-hours templates laid over the month's
--                         days (what could be booked); utilization = booked / available
with appointments as (
    select
        tenant_id,
        practitioner_id,
        toDate(toStartOfMonth(starts_at)) as month_start,
        status,
        dateDiff('minute', starts_at, ends_at) as minutes,
        if(
            checked_in_at is null or started_at is null,
            null,
            dateDiff('second', checked_in_at, started_at) / 60.0
        ) as wait_minutes,
        dateDiff('day', created_at, starts_at) as lead_days
    from {{ ref('stg_appointments') }}
),

bounds as (
    select
        tenant_id,
        min(month_start) as first_day,
        toDate(max(month_start) + interval 1 month - interval 1 day) as last_day
    from appointments
    group by tenant_id
),

-- Every day each template applies within the months that have appointments.
working_days as (
    select
        w.tenant_id as tenant_id,
        w.practitioner_id as practitioner_id,
        w.weekday as weekday,
        w.end_minute - w.start_minute as minutes,
        arrayJoin(
            arrayMap(
                i -> addDays(greatest(w.effective_from, b.first_day), i),
                range(toUInt32(greatest(0, dateDiff(
                    'day',
                    greatest(w.effective_from, b.first_day),
                    least(coalesce(w.effective_to, b.last_day), b.last_day)
                ) + 1)))
            )
        ) as day
    from {{ ref('stg_working_hours') }} as w
    inner join bounds as b on b.tenant_id = w.tenant_id
),

hours as (
    select
        tenant_id,
        practitioner_id,
        toDate(toStartOfMonth(day)) as month_start,
        sum(minutes) as available_minutes
    from working_days
    where toDayOfWeek(day) = weekday
    group by tenant_id, practitioner_id, month_start
),

counted as (
    select
        tenant_id,
        practitioner_id,
        month_start,
        count() as appointments,
        countIf(status = 'completed') as completed,
        countIf(status = 'no_show') as no_shows,
        countIf(status = 'cancelled') as cancelled,
        countIf(wait_minutes is not null) as waited,
        avgIf(wait_minutes, wait_minutes is not null) as mean_wait_minutes,
        avg(lead_days) as mean_lead_days,
        sumIf(minutes, status not in ('cancelled', 'no_show')) as booked_minutes
    from appointments
    group by tenant_id, practitioner_id, month_start
)

select
    cell.tenant_id as tenant_id,
    cell.practitioner_id as practitioner_id,
    p.display_name as practitioner_name,
    p.department_id as department_id,
    d.name as department_name,
    cell.month_start as month_start,
    {{ suppressed_integer('appointments', ['appointments']) }} as appointments,
    {{ suppressed_integer('completed', ['appointments', 'completed']) }} as completed,
    {{ suppressed_integer('no_shows', ['appointments', 'no_shows']) }} as no_shows,
    {{ suppressed_integer('cancelled', ['appointments', 'cancelled']) }} as cancelled,
    {{ suppressed_integer('waited', ['waited']) }} as waited,
    {{ suppress(
        'if(cell.completed + cell.no_shows > 0, cell.no_shows / (cell.completed + cell.no_shows), null)',
        ['appointments', 'completed', 'no_shows']
    ) }} as no_show_rate,
    {{ suppress('mean_wait_minutes', ['waited']) }} as mean_wait_minutes,
    {{ suppress('mean_lead_days', ['appointments']) }} as mean_lead_days,
    {{ suppressed_integer('booked_minutes', ['appointments']) }} as booked_minutes,
    toNullable(toInt64(coalesce(h.available_minutes, 0))) as available_minutes,
    {{ is_suppressed(['appointments', 'completed', 'no_shows', 'cancelled', 'waited']) }}
        as is_suppressed
from counted as cell
left join {{ ref('stg_practitioners') }} as p on p.id = cell.practitioner_id
left join {{ ref('stg_departments') }} as d on d.id = p.department_id
left join hours as h
    on h.tenant_id = cell.tenant_id
    and h.practitioner_id = cell.practitioner_id
    and h.month_start = cell.month_start
