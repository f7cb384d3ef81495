"""Lab and imaging orders: ordering, specimen collection, results with flags, imaging reports."""
