{#- A/R aging bucket of an account `days` days after its date of service. -#}
{% macro aging_bucket(days) -%}
  multiIf(
    {{ days }} <= 30, '0-30',
    {{ days }} <= 60, '31-60',
    {{ days }} <= 90, '61-90',
    {{ days }} <= 120, '91-120',
    '120+'
  )
{%- endmacro %}

{#- Position of a bucket, for sorting. -#}
{% macro aging_bucket_order(bucket) -%}
  transform({{ bucket }}, ['0-30', '31-60', '61-90', '91-120', '120+'], [1, 2, 3, 4, 5], 0)
{%- endmacro %}
