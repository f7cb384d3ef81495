"""Change capture: what changed in PostgreSQL, for the warehouse to replicate."""
