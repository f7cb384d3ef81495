"""Streamlit dashboards over the warehouse marts."""
