{#- The named columns together identify a row: no combination occurs twice. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count() as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having occurrences > 1
{% endtest %}
