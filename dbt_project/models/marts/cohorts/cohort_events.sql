{{ config(
    materialized='table',
    engine='MergeTree()',
    order_by='(tenant_id, patient_id, event_kind, event_at)',
) }}

{#- One long table of everything a cohort definition can select on, so the cohort compiler
    (warehouse/cohorts/) reads one shape: who, what kind, which code, which value, when.
    Only records that happened: refuted or erroneous diagnoses, draft or cancelled
    prescriptions, non-final results, and planned or cancelled encounters are left out. -#}

with encounter_facts as (
    select
        tenant_id,
        id,
        toNullable(start_at) as start_at,
        toNullable(encounter_class) as encounter_class
    from {{ ref('stg_encounters') }}
)

select
    c.tenant_id as tenant_id,
    c.patient_id as patient_id,
    'diagnosis' as event_kind,
    c.id as event_id,
    c.code_system as code_system,
    c.code as code,
    c.display as display,
    cast([], 'Array(String)') as ingredient_codes,
    cast(null, 'Nullable(Decimal(38, 6))') as value_numeric,
    cast(null, 'Nullable(String)') as unit,
    cast(null, 'Nullable(String)') as value_code_system,
    cast(null, 'Nullable(String)') as value_code,
    e.encounter_class as encounter_class,
    coalesce(toDateTime64(c.onset_date, 6, 'UTC'), e.start_at, c.created_at) as event_at,
    cast(null, 'Nullable(DateTime64(6, \'UTC\'))') as event_end_at
from {{ ref('stg_conditions') }} as c
left join encounter_facts as e
    on e.tenant_id = c.tenant_id and e.id = c.encounter_id
where c.verification_status not in ('refuted', 'entered_in_error')

union all

select
    tenant_id,
    patient_id,
    'medication',
    id,
    medication_system,
    medication_code,
    toNullable(medication_display),
    ingredient_codes,
    cast(null, 'Nullable(Decimal(38, 6))'),
    cast(null, 'Nullable(String)'),
    cast(null, 'Nullable(String)'),
    cast(null, 'Nullable(String)'),
    cast(null, 'Nullable(String)'),
    coalesce(signed_at, created_at),
    stopped_at
from {{ ref('stg_prescriptions') }}
where status not in ('draft', 'cancelled')

union all

select
    tenant_id,
    patient_id,
    'lab',
    id,
    code_system,
    code,
    display,
    cast([], 'Array(String)'),
    cast(value, 'Nullable(Decimal(38, 6))'),
    unit,
    value_code_system,
    value_code,
    cast(null, 'Nullable(String)'),
    effective_at,
    cast(null, 'Nullable(DateTime64(6, \'UTC\'))')
from {{ ref('stg_lab_results') }}
where status = 'final'

union all

select
    tenant_id,
    patient_id,
    'observation',
    id,
    code_system,
    code,
    display,
    cast([], 'Array(String)'),
    cast(value, 'Nullable(Decimal(38, 6))'),
    toNullable(unit),
    cast(null, 'Nullable(String)'),
    cast(null, 'Nullable(String)'),
    cast(null, 'Nullable(String)'),
    effective_at,
    cast(null, 'Nullable(DateTime64(6, \'UTC\'))')
from {{ ref('stg_observations') }}
where status = 'final'

union all

select
    tenant_id,
    patient_id,
    'encounter',
    id,
    coalesce(type_system, ''),
    coalesce(type_code, ''),
    type_display,
    cast([], 'Array(String)'),
    cast(null, 'Nullable(Decimal(38, 6))'),
    cast(null, 'Nullable(String)'),
    cast(null, 'Nullable(String)'),
    cast(null, 'Nullable(String)'),
    toNullable(encounter_class),
    start_at,
    coalesce(discharged_at, end_at)
from {{ ref('stg_encounters') }}
where status in ('in_progress', 'finished')

union all

select
    tenant_id,
    patient_id,
    'procedure',
    id,
    code_system,
    code,
    display,
    cast([], 'Array(String)'),
    cast(null, 'Nullable(Decimal(38, 6))'),
    cast(null, 'Nullable(String)'),
    cast(null, 'Nullable(String)'),
    cast(null, 'Nullable(String)'),
    cast(null, 'Nullable(String)'),
    performed_at,
    cast(null, 'Nullable(DateTime64(6, \'UTC\'))')
from {{ ref('stg_procedures') }}
where status = 'completed'
