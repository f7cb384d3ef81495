{{ config(order_by='(tenant_id, condition, dimension, dimension_value)') }}

-- Prevalence of each registry condition among living registered patients on the as-of date,
-- overall and by age band, sex and current primary payer type (a long table: `dimension` is
-- overall, age_band, sex or payer_type):
--   prevalence = patients with the condition active / patients in the group
with patients as (
    select tenant_id, patient_id, age_band, sex, payer_type, active_conditions
    from {{ ref('ph_patient_risk_tiers') }}
),

grouped as (
    select tenant_id, patient_id, active_conditions, 'overall' as dimension, 'all' as dimension_value
    from patients
    union all
    select tenant_id, patient_id, active_conditions, 'age_band', age_band from patients
    union all
    select tenant_id, patient_id, active_conditions, 'sex', sex from patients
    union all
    select tenant_id, patient_id, active_conditions, 'payer_type', payer_type from patients
),

-- Conditions at least one living patient of the tenant has active; the others have no rows.
conditions as (
    select distinct tenant_id, arrayJoin(active_conditions) as condition
    from patients
),

cells as (
    select
        g.tenant_id as tenant_id,
        c.condition as condition,
        g.dimension as dimension,
        g.dimension_value as dimension_value,
        count() as population,
        countIf(has(g.active_conditions, c.condition)) as patients_with_condition
    from grouped as g
    inner join conditions as c on c.tenant_id = g.tenant_id
    group by tenant_id, condition, dimension, dimension_value
)

select
    cell.tenant_id as tenant_id,
    cell.condition as condition,
    cell.dimension as dimension,
    cell.dimension_value as dimension_value,
    {{ suppressed_integer('population', 'population') }} as population,
    {{ suppressed_integer('patients_with_condition', 'patients_with_condition') }} as patients_with_condition,
    {{ suppress('cell.patients_with_condition / cell.population', ['population', 'patients_with_condition']) }} as prevalence,
    {{ is_suppressed(['population', 'patients_with_condition']) }} as is_suppressed,
    {{ as_of_date() }} as as_of_date
from cells as cell
