"""Providers: departments, locations (sites and rooms with their time zone) and practitioners."""
