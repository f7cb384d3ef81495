{#- Age in whole years on `on_date` (birthday not yet reached counts one year less). -#}
{% macro age_in_years(birth_date, on_date) -%}
  toInt32(dateDiff('year', {{ birth_date }}, {{ on_date }})
    - if(toMonth({{ on_date }}) * 100 + toDayOfMonth({{ on_date }})
         < toMonth({{ birth_date }}) * 100 + toDayOfMonth({{ birth_date }}), 1, 0))
{%- endmacro %}

{#- Reporting age bands, the same everywhere (prevalence, dashboards). -#}
{% macro age_band(age) -%}
  multiIf(
    {{ age }} < 18, '0-17',
    {{ age }} < 35, '18-34',
    {{ age }} < 50, '35-49',
    {{ age }} < 65, '50-64',
    {{ age }} < 75, '65-74',
    {{ age }} < 85, '75-84',
    '85+'
  )
{%- endmacro %}
