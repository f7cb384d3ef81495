"""Patients: registration, MRNs, identifiers, coverage, allergies, search and merge."""
