{#- The value sets whose conditions make the chronic-condition registry (and count towards a
    patient's chronic-condition count in the risk tier). `end_stage_renal_disease` is a
    measure exclusion, already inside `chronic_kidney_disease`. -#}
{% macro registry_conditions() -%}
  {{ return([
    'type_2_diabetes', 'hypertension', 'hyperlipidemia', 'chronic_kidney_disease', 'copd',
    'asthma', 'heart_failure', 'depression', 'ascvd'
  ]) }}
{%- endmacro %}

{% macro sql_list(values) -%}
  ({% for value in values %}'{{ value }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{#- Version of the measure definitions in dbt_project/README.md ("Quality measures"); bump it
    when a definition changes so stored results stay comparable. -#}
{% macro measure_version() -%}
  '2026.1'
{%- endmacro %}
