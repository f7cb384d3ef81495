"""Risk models: features, training, evaluation, registry and scoring."""
