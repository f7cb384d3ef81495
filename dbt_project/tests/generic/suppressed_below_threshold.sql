{#- Small-cell suppression holds: no listed count column of the mart shows a value between 1
    and the threshold minus one, and `is_suppressed` is set exactly when one of them was
    withheld (NULL). -#}
{% test suppressed_below_threshold(model, columns) %}
{%- set any_null -%}
  ({% for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %})
{%- endset -%}
select *
from {{ model }}
where {% for column in columns %}({{ column }} between 1 and {{ small_cell_threshold() }} - 1) or {% endfor %}
    (is_suppressed != {{ any_null }})
{% endtest %}
