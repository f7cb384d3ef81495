"""Declarative cohorts: YAML definitions compiled to ClickHouse SQL, materialized with
attrition and small-cell-suppressed characterization (dbt_project/cohorts/README.md)."""
