"""Encounters and the chart: notes, vital signs, diagnoses and problems, procedures."""
