{#- The date every measurement period ends on: `var('as_of_date')` (YYYY-MM-DD) or today in UTC.
    Validated here because it is spliced into SQL. -#}
{% macro as_of_date() -%}
  {%- set value = var('as_of_date', none) -%}
  {%- if value is none or value == '' -%}
    toDate(now('UTC'))
  {%- else -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value | string) -%}
      {{ exceptions.raise_compiler_error("as_of_date must be YYYY-MM-DD, got " ~ value) }}
    {%- endif -%}
    toDate('{{ value }}')
  {%- endif -%}
{%- endmacro %}

{#- First day of the twelve-month period that ends on the as-of date (inclusive). -#}
{% macro period_start_date() -%}
  addDays(addYears({{ as_of_date() }}, -1), 1)
{%- endmacro %}
