{{ config(order_by='(tenant_id, patient_id, condition)') }}

-- The chronic-condition registry: one row per registered patient and chronic condition ever
-- recorded by the as-of date (confirmed diagnosis or problem-list entry whose code is in the
-- condition's value set). `is_active` says whether it was still active on the as-of date.
select
    tenant_id,
    patient_id,
    value_set as condition,
    any(value_set_version) as value_set_version,
    min(recorded_date) as first_recorded_date,
    max(recorded_date) as last_recorded_date,
    argMin(code_system, (recorded_date, condition_id)) as first_code_system,
    argMin(code, (recorded_date, condition_id)) as first_code,
    count() as record_count,
    toBool(max(is_active)) as is_active,
    {{ as_of_date() }} as as_of_date
from {{ ref('int_condition_matches') }}
where value_set in {{ sql_list(registry_conditions()) }}
group by tenant_id, patient_id, value_set
