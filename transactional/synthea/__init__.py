"""Importing Synthea CSV exports (patients, encounters, clinical records and billing)."""
