"""Dagster definitions: replication, dbt marts, quality checks, extracts."""
