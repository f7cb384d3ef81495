"""The dashboards' pages, in navigation order: view file, title, icon. Apart from `app.py`
(a Streamlit script, which runs when imported) so tests and tools can list them."""

PAGES = (
    ("revenue.py", "Revenue", ":material/payments:"),
    ("population_health.py", "Population health", ":material/monitor_heart:"),
    ("cohorts.py", "Cohorts", ":material/groups:"),
    ("operations.py", "Operations", ":material/event:"),
    ("data_quality.py", "Data quality", ":material/fact_check:"),
    ("models.py", "Models", ":material/model_training:"),
)
