"""Research extracts: DuckDB and Parquet files, de-identified per HIPAA Safe Harbor unless
identified (and then permitted and audited)."""
