-- Times of day arrive as 'HH:MM:SS' text; minutes after midnight are what the marts add up.
select
    id,
    tenant_id,
    practitioner_id,
    location_id,
    toUInt8(weekday) as weekday,
    toUInt16(toUInt16(substring(start_time, 1, 2)) * 60 + toUInt16(substring(start_time, 4, 2)))
        as start_minute,
    toUInt16(toUInt16(substring(end_time, 1, 2)) * 60 + toUInt16(substring(end_time, 4, 2)))
        as end_minute,
    effective_from,
    effective_to,
    _synced_at as synced_at
from {{ source('raw', 'working_hours') }} final
where _is_deleted = 0
