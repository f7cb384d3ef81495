{#- The utilization measures of one population cell (`cell`: member_months, ed_visits,
    inpatient_admissions, charges_cents, paid_cents, index_stays, readmissions), defined once
    for every grain. `population` names the count whose small cells also hide the money and
    the per-member rates: member months for a month, members for a period. -#}
{% macro utilization_measures(population) -%}
    {{ suppressed_integer('ed_visits', 'ed_visits') }} as ed_visits,
    {{ suppress('cell.ed_visits * 12000 / cell.member_months', [population, 'ed_visits']) }} as ed_visits_per_1000,
    {{ suppressed_integer('inpatient_admissions', 'inpatient_admissions') }} as inpatient_admissions,
    {{ suppress('cell.inpatient_admissions * 12000 / cell.member_months', [population, 'inpatient_admissions']) }} as admissions_per_1000,
    {{ suppressed_integer('charges_cents', population) }} as charges_cents,
    {{ suppressed_integer('paid_cents', population) }} as paid_cents,
    {{ suppress('toDecimal128(cell.charges_cents, 2) / cell.member_months', population) }} as pmpm_charges_cents,
    {{ suppress('toDecimal128(cell.paid_cents, 2) / cell.member_months', population) }} as pmpm_paid_cents,
    {{ suppressed_integer('index_stays', 'index_stays') }} as index_stays,
    {{ suppressed_integer('readmissions', 'readmissions') }} as readmissions,
    {{ suppress('if(cell.index_stays > 0, cell.readmissions / cell.index_stays, null)', ['index_stays', 'readmissions']) }} as readmission_rate,
    {{ is_suppressed([population, 'ed_visits', 'inpatient_admissions', 'index_stays', 'readmissions']) }} as is_suppressed
{%- endmacro %}
