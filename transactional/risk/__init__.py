"""Risk scores written back from the risk models: stored, listed and audited here; computed
in `ml/`."""
