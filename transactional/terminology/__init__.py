"""Code systems, the shipped code subsets, their lookup and validation, and UCUM units."""
