"""What the risk models read: one specification, computed by the warehouse marts for training
and batch scoring and from a patient's PostgreSQL record for on-demand scoring."""
