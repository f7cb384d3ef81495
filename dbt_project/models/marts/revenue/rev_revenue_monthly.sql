{{ config(order_by='(tenant_id, service_month, department_name, rendering_practitioner_name)') }}

-- Gross charges by month of service, department and rendering provider, with the volume
-- behind them and the mean charge lag.
with cells as (
    select
        tenant_id,
        service_month,
        department_id,
        department_name,
        rendering_practitioner_id,
        rendering_practitioner_name,
        count() as charge_line_count,
        uniqExact(encounter_id) as encounter_count,
        uniqExact(patient_id) as patient_count,
        sum(amount_cents) as gross_charges_cents,
        avg(charge_lag_days) as average_charge_lag_days
    from {{ ref('rev_charge_lines') }}
    group by tenant_id, service_month, department_id, department_name,
        rendering_practitioner_id, rendering_practitioner_name
)

{% set counts = ['charge_line_count', 'encounter_count', 'patient_count'] %}
select
    cell.tenant_id as tenant_id,
    cell.service_month as service_month,
    cell.department_id as department_id,
    cell.department_name as department_name,
    cell.rendering_practitioner_id as rendering_practitioner_id,
    cell.rendering_practitioner_name as rendering_practitioner_name,
    {{ suppressed_integer('charge_line_count', counts) }} as charge_line_count,
    {{ suppressed_integer('encounter_count', counts) }} as encounter_count,
    {{ suppressed_integer('patient_count', counts) }} as patient_count,
    {{ suppressed_integer('gross_charges_cents', counts) }} as gross_charges_cents,
    {{ suppress('average_charge_lag_days', counts) }} as average_charge_lag_days,
    {{ is_suppressed(counts) }} as is_suppressed,
    {{ as_of_date() }} as as_of_date
from cells as cell
