{#- Small-cell suppression for every aggregate that leaves the warehouse.

    CMS cell-size suppression policy: a cell counting 1 to 10 people or events is not shown
    (0 is). `suppress(expr, counts)` yields NULL when any of `counts` is between 1 and the
    threshold minus one, else `expr`; a count is suppressed with its own cell's counts, a rate
    with the counts of its numerator and denominator. `is_suppressed(counts)` is the row's flag.

    Counts given as bare column names are qualified with `source` (default `cell`, the alias
    of the aggregated relation): in ClickHouse an output alias shadows a same-named input
    column, so an unqualified count would be read back already suppressed. -#}

{% macro small_cell_threshold() -%}
  {{ var('small_cell_threshold', 11) | int }}
{%- endmacro %}

{% macro _qualified(expr, source) -%}
  {%- if modules.re.fullmatch('[a-z_][a-z0-9_]*', expr) -%}{{ source }}.{{ expr }}{%- else -%}{{ expr }}{%- endif -%}
{%- endmacro %}

{% macro _small_cell_condition(counts, source) -%}
  {%- set listed = [counts] if counts is string else counts -%}
  ({% for count in listed %}({{ _qualified(count, source) }}) between 1 and {{ small_cell_threshold() }} - 1{% if not loop.last %} or {% endif %}{% endfor %})
{%- endmacro %}

{% macro suppress(expr, counts, source='cell') -%}
  if({{ _small_cell_condition(counts, source) }}, null, {{ _qualified(expr, source) }})
{%- endmacro %}

{#- An integer measure of the cell (a count or a sum of cents), suppressed with the cell. -#}
{% macro suppressed_integer(column, counts, source='cell') -%}
  {{ suppress('toNullable(toInt64(' ~ _qualified(column, source) ~ '))', counts, source) }}
{%- endmacro %}

{% macro is_suppressed(counts, source='cell') -%}
  toBool({{ _small_cell_condition(counts, source) }})
{%- endmacro %}
