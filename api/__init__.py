"""HTTP (FastAPI) and command-line interfaces of the EMR."""
