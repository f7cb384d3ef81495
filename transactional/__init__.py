"""Relational model, migrations and domain services of the EMR (PostgreSQL)."""
